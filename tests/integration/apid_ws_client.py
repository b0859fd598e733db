#!/usr/bin/env python3
"""apid_ws_client.py HOST PORT PATH KEY|- [LINE...] — a minimal RFC 6455 client for
tests/integration/apid.sh: checks the handshake (Sec-WebSocket-Accept),
sends one masked ping (answered only while the job is live), then prints every text message as a JSON line and
"PONG" / "CLOSE <code>" for those frames; exits 0 after the close frame,
1 on a protocol error, 2 after 30 s.  Each LINE is sent as a masked text
message, 0.3 s apart, after the first message arrived.  The standard
library only."""
import base64, hashlib, os, socket, struct, sys

host, port, path, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
send_lines = sys.argv[5:]
import time
s = socket.create_connection((host, port), timeout=30)
wskey = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {wskey}\r\n"
           f"Sec-WebSocket-Version: 13\r\n" +
           ("" if key == "-" else f"x-api-key: {key}\r\n") + "\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        print("no handshake"); sys.exit(1)
    buf += chunk
head, buf = buf.split(b"\r\n\r\n", 1)
lines = head.decode().split("\r\n")
if not lines[0].startswith("HTTP/1.1 101"):
    print("status:", lines[0]); sys.exit(1)
want = base64.b64encode(hashlib.sha1((wskey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
if hdrs.get("sec-websocket-accept") != want:
    print("bad accept", hdrs); sys.exit(1)
mask = os.urandom(4)
payload = b"hi"
s.sendall(bytes([0x89, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

def need(n):
    global buf
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            print("connection closed without a close frame"); sys.exit(1)
        buf += chunk

while True:
    need(2)
    op, ln = buf[0] & 0x0f, buf[1] & 0x7f
    if buf[1] & 0x80:
        print("server frame masked"); sys.exit(1)
    off = 2
    if ln == 126:
        need(4); ln = struct.unpack(">H", buf[2:4])[0]; off = 4
    elif ln == 127:
        need(10); ln = struct.unpack(">Q", buf[2:10])[0]; off = 10
    need(off + ln)
    data, buf = buf[off:off + ln], buf[off + ln:]
    if op == 1:
        print(data.decode())
        while send_lines:
            time.sleep(0.3)
            t = send_lines.pop(0).encode()
            m = os.urandom(4)
            s.sendall(bytes([0x81, 0x80 | len(t)]) + m + bytes(b ^ m[i % 4] for i, b in enumerate(t)))
    elif op == 10:
        print("PONG", data.decode())
    elif op == 8:
        print("CLOSE", struct.unpack(">H", data[:2])[0] if len(data) >= 2 else "")
        sys.exit(0)
    else:
        print("unexpected opcode", op); sys.exit(1)
