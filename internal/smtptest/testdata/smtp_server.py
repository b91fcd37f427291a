"""A small SMTP server for sysvak-import's tests, on Debian's python3-aiosmtpd.

Every accepted message is written to OUT/NNNNNN.eml (atomically: a temp name, then a rename), the
envelope to OUT/NNNNNN.json. The reply to DATA can be changed while the server runs: when the file
OUT/respond holds a line such as "451 4.3.0 try later" or "554 5.7.1 no", DATA is answered with it
and nothing is stored. Options: --tls (implicit TLS), --starttls, --cert/--key, --auth USER:PASS
(AUTH PLAIN and LOGIN; required before MAIL). Prints "READY <port>" once it listens.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out):
        self.out = out
        self.seq = len([n for n in os.listdir(out) if n.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(os.path.join(self.out, "respond")) as f:
                line = f.readline().strip()
            if line:
                return line
        except FileNotFoundError:
            pass
        self.seq += 1
        base = os.path.join(self.out, "%06d" % self.seq)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
                "authenticated": bool(session.authenticated)}
        for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(base + suffix + ".tmp", base + suffix)
        return "250 2.0.0 stored %06d" % self.seq


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)
    return check


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth")
    a = p.parse_args()
    ctx = None
    if a.tls or a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    kw = {}
    if a.auth:
        user, password = a.auth.split(":", 1)
        kw.update(authenticator=authenticator(user, password), auth_required=True,
                  auth_require_tls=not a.tls)
    if a.starttls:
        kw.update(tls_context=ctx, require_starttls=True)
    handler = Handler(a.out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtptest.invalid", **kw),
        host="127.0.0.1", port=a.port, ssl=ctx if a.tls else None, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
