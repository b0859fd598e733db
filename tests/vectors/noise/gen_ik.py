#!/usr/bin/env python3
"""gen_ik.py -- an independent Noise implementation (Python, OpenSSL's X25519
and ChaCha20-Poly1305 through the `cryptography` package, hashlib's BLAKE2b
and SHA-256, the stdlib's hmac) written from the Noise specification
(revision 34) only, used to cross-check common/noise.c where no published
vector exists.

It first reproduces every entry of cacophony.json (NN, XX) byte for byte,
then writes ik_independent.json: Noise_IK_25519_ChaChaPoly_BLAKE2b and
_SHA256 with cacophony's keys, prologue and payloads, in cacophony's format.
Not run by the tests; run it by hand:  python3 gen_ik.py  (in this folder).
"""
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw


def pub_of(priv):
    k = X25519PrivateKey.from_private_bytes(priv)
    return k.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)


def dh(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


class Suite:
    def __init__(self, hname):
        self.hname = hname
        self.hlen = 64 if hname == "BLAKE2b" else 32

    def hash(self, data):
        if self.hname == "BLAKE2b":
            return hashlib.blake2b(data).digest()
        return hashlib.sha256(data).digest()

    def hmac(self, key, data):
        return hmac.new(key, data, hashlib.blake2b if self.hname == "BLAKE2b" else hashlib.sha256).digest()

    def hkdf(self, ck, ikm, n):
        t = self.hmac(ck, ikm)
        o1 = self.hmac(t, b"\x01")
        o2 = self.hmac(t, o1 + b"\x02")
        return (o1, o2) if n == 2 else (o1, o2, self.hmac(t, o2 + b"\x03"))


class Cipher:
    def __init__(self, k=None):
        self.k, self.n = k, 0

    def enc(self, ad, pt):
        if self.k is None:
            return pt
        ct = ChaCha20Poly1305(self.k).encrypt(b"\0" * 4 + self.n.to_bytes(8, "little"), pt, ad)
        self.n += 1
        return ct

    def dec(self, ad, ct):
        if self.k is None:
            return ct
        pt = ChaCha20Poly1305(self.k).decrypt(b"\0" * 4 + self.n.to_bytes(8, "little"), ct, ad)
        self.n += 1
        return pt


PATTERNS = {
    "NN": (False, [["e"], ["e", "ee"]]),
    "XX": (False, [["e"], ["e", "ee", "s", "es"], ["s", "se"]]),
    "IK": (True, [["e", "es", "s", "ss"], ["e", "ee", "se"]]),
}


class Handshake:
    def __init__(self, pattern, hname, initiator, prologue, s, e, rs):
        self.suite = Suite(hname)
        name = ("Noise_%s_25519_ChaChaPoly_%s" % (pattern, hname)).encode()
        self.h = name.ljust(self.suite.hlen, b"\0") if len(name) <= self.suite.hlen else self.suite.hash(name)
        self.ck = self.h
        self.c = Cipher()
        self.mix_hash(prologue)
        self.init = initiator
        self.s, self.e, self.rs, self.re = s, e, rs, None
        pre, self.msgs = PATTERNS[pattern]
        if pre:
            self.mix_hash(rs if initiator else pub_of(s))
        self.i = 0

    def mix_hash(self, d):
        self.h = self.suite.hash(self.h + d)

    def mix_key(self, ikm):
        self.ck, k = self.suite.hkdf(self.ck, ikm, 2)
        self.c = Cipher(k[:32])

    def eah(self, pt):
        ct = self.c.enc(self.h, pt)
        self.mix_hash(ct)
        return ct

    def dah(self, ct):
        pt = self.c.dec(self.h, ct)
        self.mix_hash(ct)
        return pt

    def token_dh(self, t):
        a, b = t[0], t[1]
        mine = a if self.init else b
        theirs = b if self.init else a
        priv = self.e if mine == "e" else self.s
        pub = self.re if theirs == "e" else self.rs
        self.mix_key(dh(priv, pub))

    def write(self, payload):
        out = b""
        for t in self.msgs[self.i]:
            if t == "e":
                out += pub_of(self.e)
                self.mix_hash(pub_of(self.e))
            elif t == "s":
                out += self.eah(pub_of(self.s))
            else:
                self.token_dh(t)
        self.i += 1
        return out + self.eah(payload)

    def read(self, msg):
        for t in self.msgs[self.i]:
            if t == "e":
                self.re, msg = msg[:32], msg[32:]
                self.mix_hash(self.re)
            elif t == "s":
                n = 48 if self.c.k is not None else 32
                self.rs, msg = self.dah(msg[:n]), msg[n:]
            else:
                self.token_dh(t)
        self.i += 1
        return self.dah(msg)

    def done(self):
        return self.i >= len(self.msgs)

    def split(self):
        k1, k2 = self.suite.hkdf(self.ck, b"", 2)
        return Cipher(k1[:32]), Cipher(k2[:32])


def run(v, pattern, hname):
    """Returns the list of ciphertexts for v's keys and payloads."""
    pro = bytes.fromhex(v["init_prologue"])
    g = lambda k: bytes.fromhex(v[k]) if k in v else None
    i_s, r_s = g("init_static"), g("resp_static")
    rs_pub = pub_of(r_s) if (pattern == "IK") else None
    hi = Handshake(pattern, hname, True, pro, i_s, g("init_ephemeral"), rs_pub)
    hr = Handshake(pattern, hname, False, pro, r_s, g("resp_ephemeral"), None)
    cts, ci, cr = [], None, None
    for n, m in enumerate(v["messages"]):
        pl = bytes.fromhex(m["payload"])
        frm_i = n % 2 == 0
        if not hi.done():
            w, r = (hi, hr) if frm_i else (hr, hi)
            ct = w.write(pl)
            assert r.read(ct) == pl
        else:
            if ci is None:
                ci, cr = hi.split(), hr.split()
            w = ci[0] if frm_i else cr[1]
            r = cr[0] if frm_i else ci[1]
            ct = w.enc(b"", pl)
            assert r.dec(b"", ct) == pl
        cts.append(ct.hex())
    return cts


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "cacophony.json")) as f:
        caco = json.load(f)["vectors"]
    for v in caco:
        _, pattern, _, _, hname = v["name"].split("_")
        got = run(v, pattern, hname)
        want = [m["ciphertext"] for m in v["messages"]]
        if got != want:
            sys.exit("gen_ik.py: %s does not reproduce cacophony" % v["name"])
    xx = {v["name"]: v for v in caco}
    out = []
    for hname in ("BLAKE2b", "SHA256"):
        src = xx["Noise_XX_25519_ChaChaPoly_" + hname]
        v = {k: src[k] for k in ("init_prologue", "init_static", "init_ephemeral",
                                 "resp_prologue", "resp_static", "resp_ephemeral")}
        v = dict(name="Noise_IK_25519_ChaChaPoly_" + hname, **v)
        v["init_remote_static"] = pub_of(bytes.fromhex(v["resp_static"])).hex()
        v["messages"] = [{"payload": m["payload"]} for m in src["messages"]]
        for m, ct in zip(v["messages"], run(v, "IK", hname)):
            m["ciphertext"] = ct
        out.append(v)
    doc = {"origin": "Generated by gen_ik.py in this folder: an independent Noise implementation "
                     "in Python (OpenSSL X25519 and ChaCha20-Poly1305 via the cryptography package, "
                     "hashlib BLAKE2b/SHA-256), which first reproduces every cacophony.json entry. "
                     "Keys, prologue and payloads are cacophony's. Not a published vector: a "
                     "cross-check between two implementations.",
           "vectors": out}
    with open(os.path.join(here, "ik_independent.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("gen_ik.py: cacophony reproduced; wrote ik_independent.json")


if __name__ == "__main__":
    main()
