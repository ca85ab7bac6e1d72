"""lift.crypto against the AWS Encryption SDK on one 16-byte field (the evaluation in docs/compliance.md).

    pip install aws-encryption-sdk   # not a Lift dependency: only this comparison needs it
    .venv/bin/python bench/bench_esdk.py
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/bench_esdk.py --only "lift" --calls 50

Same raw 256-bit wrapping key on both sides (no KMS round trips), data keys cached on both
(the ESDK's CachingCryptoMaterialsManager: max age 300 s, 10,000 messages), encryption context
{tenant, field}. Prints the sealed size and the median encrypt/decrypt time, and the load average.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src"))
import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.identifiers import Algorithm, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

from lift.crypto import FieldCipher, LocalKeyProvider

key_bytes = os.urandom(32)
mk = RawMasterKey(
    provider_id="lift",
    key_id=b"k1",
    wrapping_key=WrappingKey(
        wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
        wrapping_key=key_bytes,
        wrapping_key_type=EncryptionKeyType.SYMMETRIC,
    ),
)
client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
cache = aws_encryption_sdk.LocalCryptoMaterialsCache(100)
cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
    master_key_provider=mk, cache=cache, max_age=300.0, max_messages_encrypted=10000
)
ctx = {"lift:tenant": "acme", "lift:field": "card"}
pan = b"4111111111111111"
variants = {}
for name, alg in (
    ("ESDK default (signed)", None),
    ("ESDK unsigned (HKDF, commit)", Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY),
):
    kw = {"algorithm": alg} if alg else {}
    ct, _ = client.encrypt(source=pan, materials_manager=cmm, encryption_context=ctx, **kw)
    variants[name] = (
        len(ct),
        lambda kw=kw: client.encrypt(source=pan, materials_manager=cmm, encryption_context=ctx, **kw),
        lambda ct=ct: client.decrypt(source=ct, materials_manager=cmm),
    )
cipher = FieldCipher(LocalKeyProvider(key_bytes))
tok = cipher.encrypt(pan, tenant="acme", field="card")
variants["lift.crypto"] = (
    len(tok),
    lambda: cipher.encrypt(pan, tenant="acme", field="card"),
    lambda: cipher.decrypt(tok, tenant="acme", field="card"),
)
if "--only" in sys.argv:  # under callgrind: N encrypt+decrypt calls of one variant
    name = sys.argv[sys.argv.index("--only") + 1]
    calls = int(sys.argv[sys.argv.index("--calls") + 1]) if "--calls" in sys.argv else 50
    _size, enc, dec = next(v for k, v in variants.items() if k.startswith(name))
    for _ in range(calls):
        enc()
        dec()
    raise SystemExit
print("load", open("/proc/loadavg").read().split()[:3])
for name, (size, enc, dec) in variants.items():
    e, d = [], []
    for _ in range(7):
        t = time.perf_counter()
        [enc() for _ in range(200)]
        e.append((time.perf_counter() - t) / 200 * 1e6)
        t = time.perf_counter()
        [dec() for _ in range(200)]
        d.append((time.perf_counter() - t) / 200 * 1e6)
    print(f"{name}: {size} bytes, encrypt {statistics.median(e):.0f} us, decrypt {statistics.median(d):.0f} us")
print("load", open("/proc/loadavg").read().split()[:3])
