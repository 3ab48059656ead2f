#ifndef WHARF_CLDAP_SHIM_H
#define WHARF_CLDAP_SHIM_H

#include <lber.h>
#include <ldap.h>

/* Macros that are casts, which Swift does not import. */
static const int wharf_ldap_scope_base = LDAP_SCOPE_BASE;
static const int wharf_ldap_scope_subtree = LDAP_SCOPE_SUBTREE;

#endif
