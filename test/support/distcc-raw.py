# A bare distcc protocol 1 client (distcc's doc/protocol-1.txt): sends ARGV and a
# preprocessed source to HOST:PORT, prints the status, stderr and object size it gets.
#   python3 distcc-raw.py HOST PORT ARG...
# RAW_SRC, when set, is the source sent; RAW_FIND, when set, lines of text to look for in
# the object and stderr that come back (printed: found yes/no).
import os, socket, sys

def tok(name, n): return name.encode() + b'%08x' % n

def main():
    host, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    src = os.environ.get('RAW_SRC', 'int f(void) { return 42; }\n').encode()
    msg = tok('DIST', 1) + tok('ARGC', len(argv))
    for a in argv: msg += tok('ARGV', len(a.encode())) + a.encode()
    msg += tok('DOTI', len(src)) + src
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(msg)
    data = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except ConnectionResetError:
        # distccd closed without reading all of the request (its own argument check)
        print('dropped')
    out, i = {}, 0
    while i + 12 <= len(data):
        name, n = data[i:i+4].decode(), int(data[i+4:i+12], 16); i += 12
        if name in ('DONE', 'STAT'): out[name] = n; continue
        out[name] = data[i:i+n]; i += n
    print('status', out.get('STAT'))
    print('stderr', out.get('SERR', b'').decode(errors='replace').replace('\n', ' | '))
    print('object', len(out.get('DOTO', b'')))
    if os.environ.get('RAW_FIND'):
        back = out.get('DOTO', b'') + out.get('SERR', b'')
        print('found', 'yes' if any(n.encode() in back for n in os.environ['RAW_FIND'].split('\n') if n) else 'no')

main()
