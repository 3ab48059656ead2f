"""Request bodies sent without a Content-Length (HTTP/1.1 chunked transfer encoding), as streaming clients do."""
from ocihelpers import sha256


def chunks(*parts: bytes):
    yield from parts


def test_post_with_a_streamed_body_keeps_it_as_the_first_chunk(wharf):
    s = wharf.session()
    first, rest = b"streamed-first-", b"and the rest"
    post = s.post(wharf.url("/v2/stream/blobs/uploads/"), data=chunks(first[:5], first[5:]))
    assert post.status_code == 202, post.text
    assert "Content-Length" not in post.request.headers  # really sent chunked
    assert post.headers["Range"] == f"0-{len(first) - 1}"
    location = post.headers["Location"]
    put = s.put(wharf.url(location), params={"digest": sha256(first + rest)}, data=chunks(rest))
    assert put.status_code == 201, put.text
    blob = s.get(wharf.url(f"/v2/stream/blobs/{sha256(first + rest)}"))
    assert blob.content == first + rest


def test_streamed_patch_and_monolithic_post(wharf):
    s = wharf.session()
    data = [bytes([i]) * 70_000 for i in range(5)]
    whole = b"".join(data)
    post = s.post(wharf.url("/v2/stream/blobs/uploads/"), params={"digest": sha256(whole)}, data=chunks(*data))
    assert post.status_code == 201, post.text
    start = s.post(wharf.url("/v2/stream/blobs/uploads/"))
    patch = s.patch(wharf.url(start.headers["Location"]), data=chunks(*data))
    assert patch.status_code == 202, patch.text
    assert patch.headers["Range"] == f"0-{len(whole) - 1}"
