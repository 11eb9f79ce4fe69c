#!/usr/bin/env bash
# Install manual-gate without cert-manager: create the TLS Secret and render the CA bundle into the
# webhook configurations. No cluster is needed to render; applying the output installs.
#
#   certs/install-secret.sh --image REGISTRY/manual-gate:TAG [--out certs/out] [--kustomize manifests]
#                           [--key-type ec|rsa] [--days 365]
#   kubectl apply -f certs/out/
#
# Writes OUT/manual-gate.yaml (every object, caBundle filled in: safe to commit, it holds no key),
# OUT/tls-secret.yaml (the Secret manual-gate-tls with the private key: never commit it) and keeps the
# CA in OUT/ca/ (kubectl apply -f OUT/ does not descend into it). Running it again renews the serving
# certificate under the same CA, so the caBundle already in the cluster stays valid: apply
# OUT/tls-secret.yaml and the server picks up the new files without a restart.
# --kustomize picks what to render: manifests (the default rules), manifests/overlays/secrets,
# manifests/overlays/no-match-conditions, or a kustomization of your own built on manifests/base.
# --image is the image you built and pushed (NAME:TAG, NAME@sha256:..., or both): the Deployment runs it,
# and its tag becomes the app.kubernetes.io/version label.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$root/certs/out kdir=$root/manifests keytype=ec days=365 image=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --kustomize) kdir=$2; shift 2 ;;
        --key-type) keytype=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        --image) image=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "install-secret.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
# NAME[:TAG][@DIGEST]; a tag is a colon after the last slash (a registry's port is not one).
[ -n "$image" ] || { echo "install-secret.sh: give --image REGISTRY/manual-gate:TAG, the image you built and pushed" >&2; exit 2; }
img_name=${image%%@*} img_digest= img_tag=
[ "$img_name" = "$image" ] || img_digest=${image#*@}
case "${img_name##*/}" in *:*) img_tag=${img_name##*:}; img_name=${img_name%:*} ;; esac
if [ -z "$img_name" ] || [ -z "$img_tag$img_digest" ] || [[ "$image" =~ [[:space:]] ]] ||
    { [ -n "$img_digest" ] && ! [[ "$img_digest" =~ ^sha256:[0-9a-f]{64}$ ]]; }; then
    echo "install-secret.sh: --image '$image' is not NAME:TAG or NAME@sha256:<64 hex digits>" >&2
    exit 2
fi
command -v kubectl >/dev/null || { echo "install-secret.sh: needs kubectl (1.27 or later, for kustomize v5)" >&2; exit 2; }
[ -f "$kdir/kustomization.yaml" ] || { echo "install-secret.sh: no kustomization.yaml in '$kdir'" >&2; exit 2; }
kdir=$(cd "$kdir" && pwd)

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Service is manual-gate in namespace manual-gate, as the manifests name them.
"$here/make-certs.sh" --service manual-gate --namespace manual-gate --out "$out/ca" \
    --key-type "$keytype" --days "$days" >/dev/null
ca_bundle=$(cat "$out/ca/ca-bundle.b64")

# The CA bundle reaches the webhook configurations through the ca-bundle component, from a ConfigMap
# that kustomize reads and never outputs.
cat > "$tmp/ca-bundle.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: manual-gate-ca-bundle
  annotations:
    config.kubernetes.io/local-config: "true"
data:
  caBundle: $ca_bundle
YAML
# kustomize takes only relative paths to other kustomizations.
cat > "$tmp/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - "$(realpath --relative-to="$tmp" "$kdir")"
  - ca-bundle.yaml
components:
  - "$(realpath --relative-to="$tmp" "$root/manifests/components/ca-bundle")"
images:
  - name: manual-gate
    newName: "$img_name"
YAML
[ -z "$img_tag" ] || echo "    newTag: \"$img_tag\"" >> "$tmp/kustomization.yaml"
[ -z "$img_digest" ] || echo "    digest: \"$img_digest\"" >> "$tmp/kustomization.yaml"
if [ -n "$img_tag" ]; then
    cat >> "$tmp/kustomization.yaml" <<YAML
labels:
  - pairs:
      app.kubernetes.io/version: "${img_tag#v}"
    includeTemplates: true
YAML
fi
kubectl kustomize "$tmp" > "$tmp/manual-gate.yaml"
if grep -q 'cert-manager.io/inject-ca-from' "$tmp/manual-gate.yaml"; then
    echo "install-secret.sh: '$kdir' uses cert-manager; this script is the way without it" >&2
    exit 2
fi
hooks=$(grep -c '^  clientConfig:$\|^- clientConfig:$' "$tmp/manual-gate.yaml" || true)
bundles=$(grep -c "^    caBundle: $ca_bundle\$" "$tmp/manual-gate.yaml" || true)
if [ "$hooks" -eq 0 ] || [ "$hooks" -ne "$bundles" ]; then
    echo "install-secret.sh: caBundle rendered into $bundles of $hooks webhooks" >&2
    exit 1
fi

# The Secret file holds the private key: readable by its owner only.
(umask 077; {
    echo "# manual-gate serving certificate; holds the private key: never commit this file."
    echo "apiVersion: v1"
    echo "kind: Secret"
    echo "metadata:"
    echo "  name: manual-gate-tls"
    echo "  namespace: manual-gate"
    echo "  labels:"
    echo "    app.kubernetes.io/name: manual-gate"
    echo "    app.kubernetes.io/part-of: manual-gate"
    echo "type: kubernetes.io/tls"
    echo "data:"
    echo "  tls.crt: $(base64 -w0 < "$out/ca/tls.crt")"
    echo "  tls.key: $(base64 -w0 < "$out/ca/tls.key")"
    echo "  ca.crt: $ca_bundle"
} > "$tmp/tls-secret.yaml")
mv "$tmp/manual-gate.yaml" "$out/manual-gate.yaml"
chmod 644 "$out/manual-gate.yaml"
mv "$tmp/tls-secret.yaml" "$out/tls-secret.yaml"
echo "wrote $out/manual-gate.yaml (image $image) and $out/tls-secret.yaml ($hooks webhooks with the caBundle); install:" >&2
echo "  kubectl apply -f $out/" >&2
