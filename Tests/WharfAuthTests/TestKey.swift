// A throwaway RSA-2048 key made for these tests only (openssl genpkey); it signs nothing outside them.
let testKeyPEM = """
    -----BEGIN PRIVATE KEY-----
    MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDahRhzYCUQSJTk
    2RT0/FYae7Lrn0N2gKWuOOuNXRtbkV0q+IK3YkGGqTDNiHyl59v8JTAKwXn7E6Ib
    tPH/d4hlJhowGxdmy+z4froN1Ebjvb+OQ6Kg2ZdHg0WM1vfzN7Qd5CKsdC/Uq1X+
    n7rssicPGqh0UwxS+p8nCXBPSYpHqyMcga1sru76sB/xL84Xm2ChozT9opPSrCri
    KSk3sLjs5yjgc5gvvAnAXh7h+IgbUkeavx/ITia0lTLFVcCZYE3gEb6+crKdsT5Y
    n9EmymDoih1GQle+M5qJtLY6TlYwmMdRzKrzOTDo17sF8RhcM1McLcG619JTtanS
    3ZBrCDlRAgMBAAECggEAIs7zu6EzljnxmdiomXO+pX5R3G2kufI5Mhz4DK8ppfbs
    X+VxMRQSOwilcQAOVwEtjidAVV5Hd4LDnmU+7UJVtEMTBdmy6xmN2HGbYouPdUSr
    CFbmx3eRvP8Aq7QskA4t/1rxWQYy/k4Cp0o7ZOvmA+ZrsgfunSM2CepbfQ3KXKrv
    RrelJZuL8Nw+kQxT/w6P+t8KbjpkUW+RgIqcJrBIvNMF/HZg/3aYIN4seLUDbQ43
    S2oMVahQh/ZS4wtKrkvJLU8srUlVZEM803CoKmh48oXHP5wkzFOwptRP1PqmwpFl
    U36OGoEeg1Si8cqA/nWwiyiuJCgqE4V6putmuzUrxwKBgQD14ROXdg77Srn09Z7i
    JqQm7DQHGo+wKGcjSv6qzEKpVoiRL8c017IpDEiCR5GIPFC1jocgpN3zB3eM1zP0
    Gqj1bNJT6j/PZqXMlGYv/+/Yi7XnQ3tKim7XDbF0fTq+ABSLNGfWiUj6FSNVjzz9
    5bGo5jq4iHqLpIVNhY14BID+ywKBgQDjg7k5rIBnIMvR3JW285aR8P+SM3AC7EYo
    wQ87jWtaXYVBqpuBZlhVnTwKwo7SA0iHf/37sCGKyOQMkkFKyEvHglUh0Jsjt+sP
    g4YJyV8XWhn4WjbZysO/GC78/t7BZM5xFee9Ro89kmLQ+7aljdKZuSZwgC2fqKPe
    TAMK72Oo0wKBgA54dZ+3WgBeEH2jKvuiTIzh39n/LS+v4QoJst04cj/nENiCmFW6
    0AhsaaQJND5xVkqpHbjFGy7fZKDMVYlrPEBdbC92HNVG9EELBsySYno7FrSKmyny
    5b0QWD5D1H40IQFkTywoHjxhnBe/+1Xx+7e1/QS5O4UWZKYAUygaE8FrAoGBAMy0
    3XjmHBYubRVjaxXU8DpZ5CpQu8z1eF787k6//MKu+NJPxmFUi9Bki/yGd+jAaYb5
    g7XtEREFliM1iSfXNk/Jlf2564zk08v+pCC0HiotuMY7rbSieyO6h7S9QgIySIl5
    kyw7i3B0ARNWGE23YLFN5Sc+PU61dtPyAp7ZLAtfAoGBAMYIDCYf7TfEwTBWTLVH
    PpJI8jUNEaxmw/1QJdqpREcw87y0wQMK8zMVLhyC60okaIJOMJW9XZ5K2S7axMpV
    +BQHC0P4/irtSB0cR6+BT/1ry4PWZrn/uY2TBcYHyusnUSHa9vS8snPvPEvjSreM
    STZ0N863Vf5SjhTfb/khnM2t
    -----END PRIVATE KEY-----
    """

/// The libtrust key ID of `testKeyPEM`, computed outside Wharf:
/// `openssl pkey -in key.pem -pubout -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32 | fold -w4 | paste -sd:`
let testKeyID = "4AHF:L3W4:ASKQ:HUNX:NW7M:MRGB:WEEX:YOIO:SUM4:F7E3:SYPY:7VRD"
