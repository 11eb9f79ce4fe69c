#!/usr/bin/env bash
# Create a CA and a serving certificate for manual-gate, and print the CA bundle (base64) for the
# webhook configurations' caBundle.
#
#   certs/make-certs.sh --service manual-gate --namespace manual-gate [--out certs] [--key-type ec|rsa] [--days 365]
#
# Writes OUT/ca.crt, OUT/ca.key, OUT/tls.crt, OUT/tls.key and OUT/ca-bundle.b64 (git-ignored: keys are
# never committed). The API server checks the name <svc>.<ns>.svc against the SANs (the CN alone is
# refused), so every name a client may use is a SAN; localhost and 127.0.0.1 serve local runs.
# An existing CA in OUT is reused, so renewing the serving certificate keeps the caBundle valid.
set -euo pipefail

svc=manual-gate ns=manual-gate out=certs keytype=ec days=365
while [ $# -gt 0 ]; do
    case "$1" in
        --service) svc=$2; shift 2 ;;
        --namespace) ns=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --key-type) keytype=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "make-certs.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$keytype" in
    ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa) newkey=(-newkey rsa:3072) ;;
    *) echo "make-certs.sh: --key-type is ec (P-256) or rsa (3072 bits), not '$keytype'" >&2; exit 2 ;;
esac

mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -s "$out/ca.crt" ] || [ ! -s "$out/ca.key" ]; then
    openssl req -x509 -nodes "${newkey[@]}" -keyout "$out/ca.key" -out "$out/ca.crt" -days $((days * 5)) \
        -subj "/CN=manual-gate-ca" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

cat > "$tmp/ext.cnf" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local,DNS:localhost,IP:127.0.0.1
CNF
openssl req -new -nodes "${newkey[@]}" -keyout "$tmp/tls.key" -out "$tmp/tls.csr" \
    -subj "/CN=$svc.$ns.svc" 2>/dev/null
openssl x509 -req -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -CAserial "$tmp/ca.srl" -out "$tmp/tls.crt" -days "$days" -extfile "$tmp/ext.cnf" 2>/dev/null
# Move into place key first, then certificate, each with an atomic rename, so a server watching the
# files never reads a half-written one.
mv "$tmp/tls.key" "$out/tls.key"
mv "$tmp/tls.crt" "$out/tls.crt"
chmod 644 "$out/ca.crt" "$out/tls.crt"
base64 -w0 < "$out/ca.crt" > "$out/ca-bundle.b64"
echo "wrote $out/ca.crt $out/tls.crt $out/tls.key for $svc.$ns.svc; the caBundle (base64 of ca.crt) is in $out/ca-bundle.b64 and on stdout" >&2
cat "$out/ca-bundle.b64"; echo
