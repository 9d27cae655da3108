#!/usr/bin/env python3
"""Slow-client bench for certd (issue 17): N hostile clients from one loopback address hold
connections in one of three ways while one well-behaved client on another address sends a
request every INTERVAL seconds; prints the well-behaved client's answer ratio and latency
percentiles per (mode, N). Every loop is bounded by DURATION.

  bench/slow_clients.py --port 8080 [--modes headers,bodies,keepalive] [--counts 8,16,64,256]
                        [--duration 20] [--slow-addr 127.0.0.2] [--good-addr 127.0.0.1]

Modes: headers   — a request head trickled 1 byte/s (never completed);
       bodies    — a complete head with Content-Length: 100000, then the body 1 byte/s;
       keepalive — a request, its answer, then the connection held idle; reconnect when closed.
A slow client whose connection is closed (408, 503, idle close) reconnects after 0.2 s.
"""
import argparse
import asyncio
import socket
import time


async def open_from(addr, host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((addr, 0))
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    return await asyncio.open_connection(sock=sock)


async def slow_client(mode, addr, host, port, stop_at, stats):
    while time.monotonic() < stop_at:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(open_from(addr, host, port), 2)
            stats["connects"] += 1
            if mode == "headers":
                head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
                for i in range(len(head)):
                    if time.monotonic() >= stop_at:
                        break
                    writer.write(head[i:i + 1])
                    await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(1), 1.0)
                        if data == b"" or data:
                            break  # answered (408/503) or closed
                    except asyncio.TimeoutError:
                        pass
            elif mode == "bodies":
                writer.write(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100000\r\n\r\n{")
                await writer.drain()
                while time.monotonic() < stop_at:
                    writer.write(b" ")
                    await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(1), 1.0)
                        if data == b"" or data:
                            break
                    except asyncio.TimeoutError:
                        pass
            else:  # keepalive
                while time.monotonic() < stop_at:
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    await writer.drain()
                    got = await asyncio.wait_for(reader.read(4096), 5)
                    if not got:
                        break
                    # hold the connection idle; the server closes it (keep-alive idle limit)
                    data = await asyncio.wait_for(reader.read(1), max(0.1, stop_at - time.monotonic()))
                    if data == b"":
                        break
        except (OSError, asyncio.TimeoutError, ConnectionError):
            stats["errors"] += 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.2)


def good_client(host, port, addr, stop_at, interval, out):
    """Sequential GET /healthz with a 5 s timeout, a fresh connection when one fails."""
    sock = None
    buf = b""
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        ok = False
        try:
            if sock is None:
                sock = socket.create_connection((host, port), timeout=5, source_address=(addr, 0))
                buf = b""
            sock.settimeout(5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            while b"\r\n\r\n" not in buf:
                d = sock.recv(4096)
                if not d:
                    raise ConnectionError("closed")
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            while len(rest) < length:
                d = sock.recv(4096)
                if not d:
                    raise ConnectionError("closed")
                rest += d
            buf = rest[length:]
            ok = head.startswith(b"HTTP/1.1 200")
            if b"connection: close" in head.lower():
                sock.close()
                sock = None
        except (OSError, ConnectionError, ValueError):
            if sock is not None:
                sock.close()
            sock = None
        out.append((ok, time.monotonic() - t0))
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    if sock is not None:
        sock.close()


async def run_case(args, mode, n):
    stop_at = time.monotonic() + args.duration
    stats = {"connects": 0, "errors": 0}
    results = []
    tasks = [asyncio.create_task(slow_client(mode, args.slow_addr, args.host, args.port,
                                             stop_at, stats)) for _ in range(n)]
    await asyncio.sleep(1.0)  # let the slow clients settle in first
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, good_client, args.host, args.port, args.good_addr,
                               stop_at, args.interval, results)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    answered = sum(1 for ok, _ in results if ok)
    lat = sorted(d for ok, d in results if ok) or [float("nan")]
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"{mode:9s} {n:4d} slow: {answered}/{len(results)} answered "
          f"({100.0 * answered / max(1, len(results)):.1f} %), p50 {p(0.50):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms; slow connects {stats['connects']}",
          flush=True)
    await asyncio.sleep(args.pause)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--modes", default="headers,bodies,keepalive")
    ap.add_argument("--counts", default="8,16,64,256")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--pause", type=float, default=2)
    ap.add_argument("--slow-addr", default="127.0.0.2")
    ap.add_argument("--good-addr", default="127.0.0.1")
    args = ap.parse_args()
    for mode in args.modes.split(","):
        for n in (int(c) for c in args.counts.split(",")):
            await run_case(args, mode, n)


if __name__ == "__main__":
    asyncio.run(main())
