#!/usr/bin/env bash
# Makes a development CA and certificates for mTLS with openssl:
#   ca.pem / ca.key                 the CA that signs servers and callers
#   server.pem / server.key         SAN DNS:localhost, IP:127.0.0.1
#   caller-<id>.pem / .key          one per caller id given (DNS SAN = the id;
#                                   production would use a URI SAN such as
#                                   spiffe://example.org/ns/esign/sa/esign)
#   expired.pem / expired.key       a caller certificate that expired in 2020
#   rogue-ca.pem, rogue.pem / .key  a caller certificate from another CA
# Usage: scripts/dev-certs.sh OUTDIR [caller-id ...]
# Development only: the keys are unencrypted and the CA is yours alone.
set -euo pipefail
out=${1:?usage: dev-certs.sh OUTDIR [caller-id ...]}
shift
callers=("$@")
[ ${#callers[@]} -gt 0 ] || callers=(esign-platform ca-registration-desk app-backend)
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME CA_PREFIX SAN [startdate enddate]
sign() {
  local name=$1 ca=$2 san=$3 start=${4:-} end=${5:-}
  key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
  cat > "$name.ext" <<EXT
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
EXT
  if [ -z "$start" ]; then
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
      -days 825 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  else
    # openssl 3.0's x509 cannot back-date; `ca` can, with a throwaway database.
    mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
    cat > ca-db/ca.cnf <<CNF
[ ca ]
default_ca = dev
[ dev ]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
copy_extensions = none
[ any ]
commonName = supplied
CNF
    openssl ca -batch -config ca-db/ca.cnf -cert "$ca.pem" -keyfile "$ca.key" \
      -startdate "$start" -enddate "$end" -extfile "$name.ext" \
      -in "$name.csr" -out "$name.pem" -notext 2>/dev/null
  fi
  rm -f "$name.csr" "$name.ext"
}

make_ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem" 2>/dev/null
}

make_ca ca "idgate development CA"
make_ca rogue-ca "somebody else's CA"
sign server ca "DNS:localhost,IP:127.0.0.1"
for id in "${callers[@]}"; do sign "caller-$id" ca "DNS:$id"; done
sign expired ca "DNS:${callers[0]}" 20200101000000Z 20200102000000Z
sign rogue rogue-ca "DNS:${callers[0]}"
rm -rf ca-db ca.srl rogue-ca.srl
echo "certificates in $out"
