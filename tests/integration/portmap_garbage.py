#!/usr/bin/env python3
# portmap_garbage.py LAN_IP HTTP_PORT SECONDS — a hostile "router" for
# tests/integration/portmap.sh: answers SSDP M-SEARCH (multicast on LAN_IP)
# with a LOCATION on its own HTTP server, whose answers are garbage (random
# bytes, truncated or absurd XML, a plausible description whose SOAP answers
# are nonsense), and answers NAT-PMP requests (UDP 5351) with malformed
# datagrams.  Each kind is cycled so that every request sees a different
# one.  Exits after SECONDS; prints one line per answer kind to stdout.
import os
import random
import select
import socket
import struct
import sys
import time

lan_ip, http_port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
random.seed(112)

DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL><SCPDURL>/scpd.xml</SCPDURL>
</service></serviceList></device></deviceList></device></deviceList></device></root>"""

def http_bodies():
    """Description answers, cycled: garbage first, then a plausible one."""
    yield os.urandom(3000)
    yield b"<?xml version=\"1.0\"?><root>" + b"<device>" * 5000
    yield b"<root><URLBase>http://" + b"A" * 20000 + b"</URLBase></root>"
    yield DESC.encode()

def soap_bodies():
    yield os.urandom(500)
    yield (b"<s:Envelope><s:Body><u:GetExternalIPAddressResponse>"
           b"<NewExternalIPAddress>999.1.2." + b"9" * 3000 +
           b"</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>")
    yield b"<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>-99999999999</errorCode>"
    yield b""

def natpmp_answers(req):
    """Malformed NAT-PMP answers, cycled."""
    op = req[1] if len(req) > 1 else 0
    yield os.urandom(random.randint(0, 16))
    yield bytes([1, 128 + op]) + os.urandom(10)                 # wrong version
    yield bytes([0, 128 + op, 0])                                 # short
    yield bytes([0, 77]) + os.urandom(14)                         # unknown opcode
    yield struct.pack("!BBHI", 0, 128 + op, 5, 1) + os.urandom(8)  # result "out of resources"
    # success, but for another private port with lifetime 0
    yield struct.pack("!BBHIHHI", 0, 129, 0, 1, 1, 0, 0)

def main():
    ssdp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ssdp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ssdp.bind(("0.0.0.0", 1900))
    mreq = socket.inet_aton("239.255.255.250") + socket.inet_aton(lan_ip)
    ssdp.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    pmp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pmp.bind((lan_ip, 5351))
    web = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    web.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    web.bind((lan_ip, http_port))
    web.listen(16)
    hb, sb = list(http_bodies()), list(soap_bodies())
    nh = ns = npmp = 0
    end = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < end:
        r, _, _ = select.select([ssdp, pmp, web], [], [], 0.5)
        if ssdp in r:
            data, src = ssdp.recvfrom(2048)
            st = b"urn:schemas-upnp-org:device:InternetGatewayDevice:1"
            for line in data.split(b"\r\n"):
                if line.lower().startswith(b"st:"):
                    st = line[3:].strip()
            ans = (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: " + st +
                   b"\r\nUSN: uuid:garbage::" + st + b"\r\nLOCATION: http://" +
                   lan_ip.encode() + b":" + str(http_port).encode() +
                   b"/rootDesc.xml\r\n\r\n")
            ssdp.sendto(ans, src)
            print("ssdp answer", flush=True)
        if pmp in r:
            data, src = pmp.recvfrom(2048)
            answers = list(natpmp_answers(data))
            pmp.sendto(answers[npmp % len(answers)], src)
            npmp += 1
            print("natpmp garbage", npmp, flush=True)
        if web in r:
            c, _ = web.accept()
            c.settimeout(2)
            try:
                req = b""
                while b"\r\n\r\n" not in req and len(req) < 65536:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    req += chunk
                if req.startswith(b"GET"):
                    body = hb[nh % len(hb)]
                    nh += 1
                    kind = "description %d" % nh
                else:
                    body = sb[ns % len(sb)]
                    ns += 1
                    kind = "soap %d" % ns
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: " +
                          str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
                print("http garbage", kind, flush=True)
            except OSError:
                pass
            finally:
                c.close()

main()
