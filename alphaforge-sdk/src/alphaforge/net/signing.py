"""Request-signing helpers: HMAC-SHA256/SHA512, Ed25519 and ES256 JWTs.

Keys are passed as :class:`~alphaforge.config.Secret` so that they never appear in reprs, logs
or tracebacks. Each helper takes the exact bytes to sign; *what* a venue signs (a query string,
``timestamp + method + path + body``, ...) is the adapter's business.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from alphaforge.config import Secret
from alphaforge.errors import InvalidValue

__all__ = [
    "Ed25519Signer",
    "SignableRequest",
    "es256_jwt",
    "hmac_sign",
    "hmac_query_signer",
]

Encoding = Literal["hex", "base64"]


def _encode(raw: bytes, encoding: Encoding) -> str:
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    raise InvalidValue("encoding", encoding, "must be 'hex' or 'base64'")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _secret_bytes(secret: Secret | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.get_secret_value().encode()


def hmac_sign(
    secret: Secret | bytes,
    payload: str | bytes,
    *,
    digest: Literal["sha256", "sha512"] = "sha256",
    encoding: Encoding = "hex",
) -> str:
    """Return the HMAC of ``payload`` keyed by ``secret``.

    Parameters
    ----------
    secret
        The API secret. A :class:`Secret` is used as its UTF-8 bytes; pass ``bytes`` for venues
        whose secret is base64 (decode it first, e.g. Kraken).
    payload
        The exact message to sign.
    digest
        ``"sha256"`` (Binance, Bybit, OKX) or ``"sha512"`` (Kraken).
    encoding
        ``"hex"`` (Binance, Bybit) or ``"base64"`` (OKX, Kraken).
    """
    if digest not in ("sha256", "sha512"):
        raise InvalidValue("digest", digest, "must be 'sha256' or 'sha512'")
    data = payload.encode() if isinstance(payload, str) else payload
    mac = hmac.new(_secret_bytes(secret), data, getattr(hashlib, digest)).digest()
    return _encode(mac, encoding)


@attrs.frozen(repr=False)
class Ed25519Signer:
    """Ed25519 signatures (Binance Ed25519 API keys) from a PEM private key.

    Parameters
    ----------
    private_key_pem
        PKCS#8 PEM text of the private key, as a :class:`Secret`.
    password
        Optional password of an encrypted PEM.
    """

    private_key_pem: Secret
    password: Secret | None = None
    _key: ed25519.Ed25519PrivateKey = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        pwd = self.password.get_secret_value().encode() if self.password else None
        key = serialization.load_pem_private_key(
            self.private_key_pem.get_secret_value().encode(), password=pwd
        )
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidValue("private_key_pem", "***", "is not an Ed25519 private key")
        object.__setattr__(self, "_key", key)

    def __repr__(self) -> str:
        return "Ed25519Signer(private_key_pem=Secret('***'))"

    def sign(self, payload: str | bytes, *, encoding: Encoding = "base64") -> str:
        """Return the signature of ``payload`` (base64 by default, as Binance expects)."""
        data = payload.encode() if isinstance(payload, str) else payload
        return _encode(self._key.sign(data), encoding)

    def public_key_pem(self) -> str:
        """Return the SubjectPublicKeyInfo PEM of the public key (to register with the venue)."""
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def es256_jwt(
    key_name: str,
    private_key_pem: Secret,
    *,
    uri: str | None = None,
    issuer: str = "cdp",
    lifetime: float = 120.0,
    now: float | None = None,
    nonce: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Return an ES256 JWT in the style of Coinbase Advanced Trade (CDP API keys).

    Header ``{"alg": "ES256", "typ": "JWT", "kid": key_name, "nonce": <random hex>}``; claims
    ``iss``, ``sub`` (= ``key_name``), ``nbf``, ``exp`` (``nbf + lifetime``) and, for REST calls,
    ``uri`` (e.g. ``"GET api.coinbase.com/api/v3/brokerage/accounts"``; omit it for websockets).

    Parameters
    ----------
    key_name
        The API key name (``organizations/{org}/apiKeys/{key}``).
    private_key_pem
        EC P-256 private key in PEM (SEC1 or PKCS#8), as a :class:`Secret`.
    uri
        ``"METHOD host/path"`` of the request being authorised.
    issuer, lifetime
        ``iss`` claim and token lifetime in seconds.
    now, nonce
        Fixed values for tests; default to the wall clock and a random 16-byte hex nonce.
    extra_claims
        Further claims to include.
    """
    key = serialization.load_pem_private_key(private_key_pem.get_secret_value().encode(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InvalidValue("private_key_pem", "***", "is not an EC P-256 private key")
    issued = int(time.time() if now is None else now)
    nonce = nonce or secrets.token_hex(16)
    header = {"alg": "ES256", "typ": "JWT", "kid": key_name, "nonce": nonce}
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": key_name,
        "nbf": issued,
        "exp": issued + int(lifetime),
    }
    if uri is not None:
        claims["uri"] = uri
    claims.update(extra_claims or {})
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    der = key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)  # JWS wants raw r||s, not DER
    return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@attrs.define
class SignableRequest:
    """A request as a signer sees it, just before each attempt is sent.

    A signer is called once per attempt (so a retried request gets a fresh timestamp) and may
    change ``params``, ``headers`` and ``body``.

    Attributes
    ----------
    method
        Upper-case HTTP method.
    path
        Path relative to the client's base URL.
    params
        Query parameters, in order (venues sign the query string as sent).
    headers
        Extra headers.
    body
        Request body bytes (already encoded).
    """

    method: str
    path: str
    params: list[tuple[str, str]] = attrs.field(factory=list)
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""

    def query_string(self) -> str:
        """Return the query string exactly as it will be sent."""
        from urllib.parse import urlencode

        return urlencode(self.params)


RequestSigner = Callable[[SignableRequest], SignableRequest]


def hmac_query_signer(
    api_key: Secret,
    secret: Secret,
    now_ms: Callable[[], int],
    *,
    key_header: str = "X-MBX-APIKEY",
    recv_window_ms: int | None = 5000,
) -> RequestSigner:
    """Return a signer for the common "HMAC-SHA256 of the query string" scheme (Binance style).

    Appends ``recvWindow`` and ``timestamp`` (from ``now_ms``, normally
    :meth:`ServerClock.now_ms <alphaforge.net.clock.ServerClock.now_ms>`) to the query, then
    ``signature`` = hex HMAC-SHA256 of ``query string + body``, and sets the API-key header.
    """

    def sign(request: SignableRequest) -> SignableRequest:
        params = [(k, v) for k, v in request.params if k not in ("signature", "timestamp")]
        if recv_window_ms is not None and not any(k == "recvWindow" for k, _ in params):
            params.append(("recvWindow", str(recv_window_ms)))
        params.append(("timestamp", str(now_ms())))
        request.params = params
        payload = request.query_string().encode() + request.body
        request.params.append(("signature", hmac_sign(secret, payload)))
        request.headers[key_header] = api_key.get_secret_value()
        return request

    return sign
