"""AWS Signature Version 4 verification with botocore's own signer.

The signature of a request is recomputed from the headers the client says it signed
(``SignedHeaders``), its body, its ``X-Amz-Date`` and the secret of its access key, by
botocore's :class:`~botocore.auth.SigV4Auth` — the code that signs boto3's and the AWS CLI's
requests — and compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import time
from calendar import timegm
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .errors import ApiError

__all__ = ["SigV4Verifier", "parse_access_keys"]

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)
MAX_SKEW_SECONDS = 15 * 60  # AWS refuses a signature more than 15 minutes off


def parse_access_keys(specs: list[str]) -> dict[str, str]:
    """``ID:SECRET`` strings (or comma-separated lists of them) as ``{ID: SECRET}``."""
    keys: dict[str, str] = {}
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, secret = item.partition(":")
            if not sep or not key or not secret:
                raise ValueError(f"an access key is ID:SECRET, got {item.split(':', 1)[0]!r}:...")
            keys[key] = secret
    return keys


class SigV4Verifier:
    """Checks the SigV4 signature of a request against the configured access keys."""

    def __init__(self, keys: Mapping[str, str], *, clock: object = time.time) -> None:
        self.keys = dict(keys)
        self.clock = clock

    def verify(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> str:
        """The access key ID that signed the request; :class:`ApiError` when it is not signed
        by a configured key, or the signature does not match."""
        header = headers.get("authorization")
        if header is None:
            raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
        match = _AUTH.match(header)
        if match is None:
            raise ApiError(
                "IncompleteSignatureException", "Authorization header requires a valid AWS4-HMAC-SHA256 form"
            )
        scope = match["cred"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise ApiError(
                "IncompleteSignatureException",
                "Credential must have the form ID/date/region/service/aws4_request",
            )
        key_id, day, region, service, _ = scope
        secret = self.keys.get(key_id)
        if secret is None:
            raise ApiError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        stamp = headers.get("x-amz-date", "")
        try:
            signed_at = timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise ApiError("IncompleteSignatureException", "X-Amz-Date is missing or malformed") from None
        if not stamp.startswith(day):
            raise ApiError("InvalidSignatureException", "Credential date does not match X-Amz-Date")
        now = self.clock() if callable(self.clock) else time.time()
        if abs(now - signed_at) > MAX_SKEW_SECONDS:
            raise ApiError(
                "InvalidSignatureException",
                f"Signature expired: {stamp} is now earlier or later than the 15 minutes allowed",
            )
        names = match["signed"].split(";")
        if "host" not in names:
            raise ApiError("InvalidSignatureException", "The host header must be signed")
        signed = {}
        for name in names:
            value = headers.get(name)
            if value is None:
                raise ApiError("InvalidSignatureException", f"Signed header {name!r} is missing")
            signed[name] = value
        request = AWSRequest(method=method, url=url, headers=signed, data=body)
        request.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(key_id, secret, headers.get("x-amz-security-token")), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, match["sig"]):
            raise ApiError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
        return key_id
