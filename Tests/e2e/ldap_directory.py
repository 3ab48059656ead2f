"""A real OpenLDAP directory for the end-to-end tests (issue 15).

`TestDirectory.from_environment()` is the slapd scripts/test.sh started (scripts/slapd-test-server.sh; its
WHARF_TEST_LDAP_* variables); `PrivateSlapd` starts one of a test's own with the same script, for the tests that
stop, kill or restart the directory. Entries are written as the directory's admin with ldapadd, ldapmodify and
ldapdelete (ldap-utils). `Scope` gives a test module its own organisational units under ou=people and ou=groups
(unique names), so modules never see each other's users and groups and the seeded entries stay untouched.

`wharf_ldap_env(...)` turns settings into Wharf's WHARF_LDAP_* environment.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SLAPD_SCRIPT = REPO_ROOT / "scripts" / "slapd-test-server.sh"

ENV_KEYS = {
    "url": "WHARF_TEST_LDAP_URL",
    "ldaps_url": "WHARF_TEST_LDAPS_URL",
    "ca": "WHARF_TEST_LDAP_CA",
    "other_ca": "WHARF_TEST_LDAP_OTHER_CA",
    "base": "WHARF_TEST_LDAP_BASE",
    "admin_dn": "WHARF_TEST_LDAP_ADMIN_DN",
    "admin_password": "WHARF_TEST_LDAP_ADMIN_PASSWORD",
    "reader_dn": "WHARF_TEST_LDAP_READER_DN",
    "reader_password": "WHARF_TEST_LDAP_READER_PASSWORD",
    "dir": "WHARF_TEST_LDAP_DIR",
}

# The seeded people of every slapd-test-server.sh directory (login, password); see the script's header.
SEEDED = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}


def unique(prefix: str) -> str:
    """A name no other test uses: PREFIX-xxxxxx (lower case, valid as a Wharf user, team and namespace name)."""
    return f"{prefix}-{secrets.token_hex(3)}"


def escape_dn_value(value: str) -> str:
    """RFC 4514: an attribute value as it appears in a DN string."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (i == 0 and ch in "# ") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        elif ch == "\x00":
            out.append("\\00")
        else:
            out.append(ch)
    return "".join(out)


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        pytest.fail(f"{name} not found: run `scripts/install-deps.sh test` (slapd, ldap-utils)", pytrace=False)
    return found


@dataclass
class TestDirectory:
    """A running slapd as scripts/slapd-test-server.sh describes it in DIR/env."""

    __test__ = False  # not a pytest test class

    url: str
    ldaps_url: str
    ca: str
    other_ca: str
    base: str
    admin_dn: str
    admin_password: str
    reader_dn: str
    reader_password: str
    dir: str

    @classmethod
    def from_environment(cls) -> "TestDirectory":
        missing = [v for v in ENV_KEYS.values() if not os.environ.get(v)]
        if missing:
            pytest.fail(
                f"{', '.join(missing)} not set: the LDAP tests need the slapd scripts/test.sh starts; run scripts/test.sh "
                f"(or start one with `scripts/slapd-test-server.sh start DIR` and export the lines of DIR/env)",
                pytrace=False,
            )
        return cls(**{k: os.environ[v] for k, v in ENV_KEYS.items()})

    @classmethod
    def from_env_file(cls, path: Path) -> "TestDirectory":
        values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return cls(**{k: values[v] for k, v in ENV_KEYS.items()})

    @property
    def people(self) -> str:
        return f"ou=people,{self.base}"

    @property
    def groups(self) -> str:
        return f"ou=groups,{self.base}"

    # writing, as the admin --------------------------------------------------------------------------------
    def _run(self, tool: str, args: list[str], ldif: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [_tool(tool), "-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password, *args]
        p = subprocess.run(cmd, input=ldif, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            pytest.fail(f"{tool} {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}\n{ldif or ''}", pytrace=False)
        return p

    def add(self, ldif: str) -> None:
        self._run("ldapadd", [], ldif)

    def modify(self, ldif: str) -> None:
        self._run("ldapmodify", [], ldif)

    def delete(self, dn: str) -> None:
        self._run("ldapdelete", [dn])

    def delete_tree(self, dn: str) -> None:
        """Deletes an entry and everything under it (ldapdelete -r)."""
        self._run("ldapdelete", ["-r", dn])

    def exists(self, dn: str) -> bool:
        p = self._run("ldapsearch", ["-LLL", "-b", dn, "-s", "base", "(objectClass=*)", "dn"], check=False)
        return p.returncode == 0

    def add_ou(self, name: str, parent: str) -> str:
        dn = f"ou={escape_dn_value(name)},{parent}"
        self.add(f"dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n")
        return dn

    def add_person(self, uid: str, password: str, parent: str, cn: Optional[str] = None,
                   mail: Optional[str] = None) -> "Person":
        dn = f"uid={escape_dn_value(uid)},{parent}"
        cn = cn or f"Test {uid}"
        mail = mail or f"{uid.lower()}@wharf.test"
        self.add(f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: Test\nmail: {mail}\n"
                 f"userPassword: {password}\n")
        return Person(uid, password, dn, cn, mail)

    def set_password(self, dn: str, password: str) -> None:
        self.modify(f"dn: {dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: {password}\n")

    def add_group(self, cn: str, parent: str, members: Iterable[str] = (), object_class: str = "groupOfNames") -> str:
        """A group; members are DNs (groupOfNames: member, groupOfUniqueNames: uniqueMember) or uids (posixGroup)."""
        dn = f"cn={escape_dn_value(cn)},{parent}"
        members = list(members)
        lines = [f"dn: {dn}", f"objectClass: {object_class}", f"cn: {cn}"]
        if object_class == "groupOfNames":
            # groupOfNames needs a member: the empty DN stays in every group, so that its last person can leave
            lines += ["member:"] + [f"member: {m}" for m in members]
        elif object_class == "groupOfUniqueNames":
            lines += ["uniqueMember:"] + [f"uniqueMember: {m}" for m in members]
        elif object_class == "posixGroup":
            lines += [f"gidNumber: {5000 + secrets.randbelow(50000)}"] + [f"memberUid: {m}" for m in members]
        else:
            raise ValueError(object_class)
        self.add("\n".join(lines) + "\n")
        return dn

    def add_member(self, group_dn: str, member: str, attribute: str = "member") -> None:
        self.modify(f"dn: {group_dn}\nchangetype: modify\nadd: {attribute}\n{attribute}: {member}\n")

    def remove_member(self, group_dn: str, member: str, attribute: str = "member") -> None:
        self.modify(f"dn: {group_dn}\nchangetype: modify\ndelete: {attribute}\n{attribute}: {member}\n")


@dataclass
class Person:
    login: str
    password: str
    dn: str
    cn: str
    mail: str

    @property
    def creds(self) -> tuple[str, str]:
        return (self.login, self.password)

    @property
    def wharf_name(self) -> str:
        """The Wharf user name a plain login maps to (the tests' logins are already valid names, but for case)."""
        return self.login.lower()


class Scope:
    """A module's own people and groups: ou=NAME,ou=people,BASE and ou=NAME,ou=groups,BASE (under ou=groups so
    that a bound person may read them, as the seed's ACLs allow)."""

    def __init__(self, directory: TestDirectory, name: Optional[str] = None):
        self.directory = directory
        self.name = name or unique("e2e")
        self.people = directory.add_ou(self.name, directory.people)
        self.groups = directory.add_ou(self.name, directory.groups)

    def remove(self) -> None:
        """Deletes the scope's people and groups, so that later modules see the directory as seeded."""
        for dn in (self.groups, self.people):
            if self.directory.exists(dn):
                self.directory.delete_tree(dn)

    def person(self, prefix: str = "user", password: Optional[str] = None, uid: Optional[str] = None, **kw) -> Person:
        return self.directory.add_person(uid or unique(prefix), password or f"pw-{secrets.token_hex(8)}", self.people,
                                         **kw)

    def group(self, prefix: str = "group", members: Iterable[Person] = (), cn: Optional[str] = None) -> str:
        return self.directory.add_group(cn or unique(prefix), self.groups, [p.dn for p in members])


class PrivateSlapd:
    """A slapd of one test's own (scripts/slapd-test-server.sh start|stop|kill|remove DIR): seeded like the shared
    one, and free to be stopped and restarted (same ports, same data)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.directory: Optional[TestDirectory] = None

    def _script(self, action: str) -> None:
        p = subprocess.run(["bash", str(SLAPD_SCRIPT), action, str(self.folder)], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            pytest.fail(f"slapd-test-server.sh {action} {self.folder} exited {p.returncode}: {p.stderr.strip()}",
                        pytrace=False)

    def start(self) -> TestDirectory:
        self._script("start")
        self.directory = TestDirectory.from_env_file(self.folder / "env")
        return self.directory

    def stop(self) -> None:
        self._script("stop")

    def kill(self) -> None:
        self._script("kill")

    def remove(self) -> None:
        self._script("remove")


def wharf_ldap_env(directory: TestDirectory, *, encryption: str = "plain", search: bool = True,
                   base_dn: Optional[str] = None, ca_file: Optional[str] = None, **settings) -> dict[str, str]:
    """WHARF_LDAP_* for a Wharf that uses `directory`. search=True: search-then-bind as the read-only account;
    False: direct bind as uid=LOGIN,BASE. Further settings by key: admin_group="cn=…", cache_ttl="0s", … (None
    leaves a key out)."""
    env = {
        "WHARF_LDAP_ENABLED": "true",
        "WHARF_LDAP_URL": directory.ldaps_url if encryption == "ldaps" else directory.url,
        "WHARF_LDAP_ENCRYPTION": encryption,
        "WHARF_LDAP_BASE_DN": base_dn or directory.people,
        "WHARF_LDAP_USER_ATTRIBUTE": "uid",
        "WHARF_LDAP_CONNECT_TIMEOUT": "3s",
        "WHARF_LDAP_OPERATION_TIMEOUT": "5s",
    }
    if encryption != "plain":
        env["WHARF_LDAP_CA_FILE"] = ca_file or directory.ca
    if search:
        env["WHARF_LDAP_BIND_DN"] = directory.reader_dn
        env["WHARF_LDAP_BIND_PASSWORD"] = directory.reader_password
    for key, value in settings.items():
        if value is not None:
            env["WHARF_LDAP_" + key.upper()] = str(value)
    return env
