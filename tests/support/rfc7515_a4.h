// Test vectors of RFC 7515 Appendix A.4 ("Example JWS Using ECDSA P-521 SHA-512"): the P-521
// key as a JWK (RFC 7515 Figure "A.4.1") and the complete compact JWS of the payload "Payload".
// Independently checked: d derives (x, y), and the JWS verifies (Python `cryptography`).
// kPublicPem is the SubjectPublicKeyInfo PEM of (x, y), derived from the JWK, for PEM tests.
//
// Who may include: tests only.
#pragma once

#include <string_view>

namespace rocksdr::testing::rfc7515_a4 {

inline constexpr std::string_view kX = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
inline constexpr std::string_view kY = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";
inline constexpr std::string_view kD = "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C";

// header {"alg":"ES512"} (no "typ"), payload "Payload" (not JSON).
inline constexpr std::string_view kJws =
    "eyJhbGciOiJFUzUxMiJ9"
    ".UGF5bG9hZA"
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
inline constexpr std::string_view kPayload = "Payload";

inline constexpr std::string_view kPublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQB6SkFDxJPxrxVx9U5M2Xfne9KsMIs\n"
    "sleY+TTrBOPGuuNwGlenkQ6dgb82MVno68sVXWNJ9L22zPipTFxZx6rBAaQANKZE\n"
    "DjdnUNI3H9G9wsjztx0vTuXqNDLIFcyjFWD+XZOH7HdLVYOGMOXLv1qMvgqR3QBk\n"
    "xpmaH25uZ/rd7eTIyPY=\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace rocksdr::testing::rfc7515_a4
