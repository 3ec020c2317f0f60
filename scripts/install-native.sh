#!/usr/bin/env bash
# Optional step (`make native`): install the native TensorFlow backend for esmm-lab.
#
# What it does, each step skipped when already done (idempotent):
#   1. creates native/ (gitignored) with its own package.json depending on
#      @tensorflow/tfjs-node@4.22.0 and the matching @tensorflow/tfjs, and runs
#      `npm install --ignore-scripts` there. tfjs-node's own install script would download
#      libtensorflow 2.9.1 from a bucket, which this machine cannot reach.
#   2. downloads the tensorflow-cpu wheel with pip (--no-deps) into a cache folder
#      (native/.cache/wheels, or $ESMM_WHEEL_CACHE) and copies from it into the package's
#      deps/: lib/libtensorflow_cc.so.2 + lib/libtensorflow_framework.so.2 (the wheel's C API
#      libraries), the link names binding.gyp uses (-ltensorflow -ltensorflow_framework ->
#      libtensorflow.so, libtensorflow_framework.so) and the names scripts/install.js checks
#      for (libtensorflow.so.2.9.1, ...); include/: only the headers the binding includes,
#      closed transitively (a few hundred kB instead of the wheel's 270 MB of headers).
#   3. builds the N-API binding from source (node-pre-gyp install --build-from-source),
#      using Node's local headers (no header download).
#   4. checks with `node -e` that loading the package gives backend 'tensorflow'.
#   5. compiles esmm-lab's own kernels (lib/backend/native-kernels.cc: fused Adam, the embedding gradient's
#      segment sum, row-wise Adam in place, a dense layer's bias and ReLU, Adam over a flat group's parts, row
#      gathers) against the wheel's C++
#      headers into native/esmm-kernels.node, stamped with the source's sha256 (rebuilt when it changes;
#      steps 1-4 are skipped when the backend already loads). Optional, even with --strict: when it fails,
#      training runs without them (one line says so).
#
# Usage: scripts/install-native.sh [--strict] [--force]
#   --strict  exit non-zero when the native backend cannot be made (default: print one line
#             "native backend unavailable: <reason>" and exit 0, so callers can skip cleanly)
#   --force   redo every step (keeps the wheel cache)
# Environment: ESMM_NATIVE_DIR (default <project>/native), ESMM_WHEEL_CACHE,
#   ESMM_TF_WHEEL_VERSION (default 2.21.0). Details of every step go to $NATIVE_DIR/install.log.
set -uo pipefail

STRICT=0
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "install-native.sh: unknown argument '$arg' (use --strict, --force)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NATIVE_DIR="${ESMM_NATIVE_DIR:-$ROOT/native}"
TFJS_VERSION="4.22.0"
TF_WHEEL_VERSION="${ESMM_TF_WHEEL_VERSION:-2.21.0}"
WHEEL_CACHE="${ESMM_WHEEL_CACHE:-$NATIVE_DIR/.cache/wheels}"
PKG="$NATIVE_DIR/node_modules/@tensorflow/tfjs-node"
LOG="$NATIVE_DIR/install.log"
T0=$(date +%s)

fail() {
  echo "native backend unavailable: $*"
  if [ "$STRICT" = 1 ]; then exit 1; fi
  exit 0
}
step() { echo "[native] $*"; echo "== $(date -u +%H:%M:%S) $*" >>"$LOG"; }

# The check of step 4; prints the backend name (or the error) on stdout.
check_backend() {
  TF_CPP_MIN_LOG_LEVEL=2 node -e '
    const tf = require(process.argv[1]);
    tf.ready().then(() => { console.log(tf.getBackend()); })
      .catch((e) => { console.log("error: " + e.message); process.exit(1); });
  ' "$PKG" 2>>"$LOG" | tail -n 1
}

mkdir -p "$NATIVE_DIR" 2>/dev/null || fail "cannot create $NATIVE_DIR"
: >"$LOG" 2>/dev/null || fail "cannot write $LOG"

command -v node >/dev/null 2>&1 || fail "node not found"
command -v npm >/dev/null 2>&1 || fail "npm not found"
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] \
  || fail "only linux x86_64 is handled (found $(uname -s) $(uname -m))"

# The project's own kernels (step 5): up to date when their stamp holds the source's sha256.
KERNELS_SRC="$ROOT/lib/backend/native-kernels.cc"
KERNELS_OUT="$NATIVE_DIR/esmm-kernels.node"
KERNELS_STAMP="$NATIVE_DIR/esmm-kernels.sha256"
kernels_current() { [ -f "$KERNELS_OUT" ] && [ "$(cat "$KERNELS_STAMP" 2>/dev/null)" = "$(sha256sum "$KERNELS_SRC" | cut -c1-64)" ]; }

BACKEND_READY=0
if [ "$FORCE" = 0 ] && [ -d "$PKG" ] && [ "$(check_backend)" = tensorflow ]; then
  if kernels_current; then
    echo "native backend ready: $PKG (already built; --force to rebuild)"
    exit 0
  fi
  BACKEND_READY=1
fi

# Steps 1-4 are skipped when the backend already loads and only the kernels (step 5) are out of date.
if [ "$BACKEND_READY" = 0 ]; then
# ---- 1. npm packages, scripts skipped -------------------------------------------------
cat >"$NATIVE_DIR/package.json" <<EOF
{
  "name": "esmm-lab-native",
  "version": "0.0.0",
  "private": true,
  "description": "Optional native TensorFlow backend for esmm-lab, made by scripts/install-native.sh (not committed).",
  "license": "MIT",
  "dependencies": {
    "@tensorflow/tfjs": "$TFJS_VERSION",
    "@tensorflow/tfjs-node": "$TFJS_VERSION"
  }
}
EOF
if [ "$FORCE" = 1 ] || [ ! -f "$PKG/package.json" ] || [ ! -d "$NATIVE_DIR/node_modules/@mapbox/node-pre-gyp" ]; then
  step "npm install @tensorflow/tfjs-node@$TFJS_VERSION --ignore-scripts in $NATIVE_DIR"
  (cd "$NATIVE_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error) >>"$LOG" 2>&1 \
    || fail "npm install in $NATIVE_DIR failed (see $LOG)"
fi
[ -f "$PKG/binding.gyp" ] || fail "$PKG/binding.gyp missing after npm install"

fi

# ---- 2. TensorFlow C libraries and headers from the tensorflow-cpu wheel ----------------
PY=""
for c in python3 python; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -m pip --version >/dev/null 2>&1; then PY="$c"; break; fi
done
[ -n "$PY" ] || fail "python with pip not found (needed to fetch the tensorflow-cpu wheel)"

mkdir -p "$WHEEL_CACHE" || fail "cannot create $WHEEL_CACHE"
find_wheel() { ls -1 "$WHEEL_CACHE"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*manylinux*x86_64.whl 2>/dev/null | head -n 1; }
WHEEL="$(find_wheel)"
if [ -z "$WHEEL" ]; then
  step "pip download --no-deps tensorflow-cpu==$TF_WHEEL_VERSION into $WHEEL_CACHE"
  "$PY" -m pip download --no-deps --only-binary=:all: -d "$WHEEL_CACHE" "tensorflow-cpu==$TF_WHEEL_VERSION" >>"$LOG" 2>&1 \
    || "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
         --platform manylinux_2_27_x86_64 -d "$WHEEL_CACHE" "tensorflow-cpu==$TF_WHEEL_VERSION" >>"$LOG" 2>&1 \
    || fail "pip download tensorflow-cpu==$TF_WHEEL_VERSION failed (see $LOG)"
  WHEEL="$(find_wheel)"
  [ -n "$WHEEL" ] || fail "pip download gave no tensorflow_cpu-$TF_WHEEL_VERSION wheel in $WHEEL_CACHE"
else
  step "using cached wheel $WHEEL"
fi
WHEEL_MB=$(( $(stat -c %s "$WHEEL") / 1048576 ))

if [ "$BACKEND_READY" = 0 ]; then  # (the wheel above is needed by step 5 either way)
DEPS="$PKG/deps"
if [ "$FORCE" = 1 ] || [ ! -e "$DEPS/lib/libtensorflow_cc.so.2" ] || [ ! -f "$DEPS/include/tensorflow/c/c_api.h" ] \
   || [ "$(cat "$DEPS/.wheel" 2>/dev/null)" != "$(basename "$WHEEL")" ]; then
  step "unpacking libtensorflow_cc.so.2, libtensorflow_framework.so.2 and C headers into $DEPS"
  rm -rf "$DEPS"
  "$PY" - "$WHEEL" "$PKG" >>"$LOG" 2>&1 <<'PYEOF' || fail "unpacking $WHEEL failed (see $LOG)"
import os, re, shutil, sys, zipfile

wheel, pkg = sys.argv[1], sys.argv[2]
deps = os.path.join(pkg, "deps")
lib_dir, inc_dir = os.path.join(deps, "lib"), os.path.join(deps, "include")
os.makedirs(lib_dir), os.makedirs(inc_dir)
z = zipfile.ZipFile(wheel)
names = set(z.namelist())

for so in ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2"):
    member = "tensorflow/" + so
    if member not in names:
        sys.exit("wheel has no " + member)
    with z.open(member) as src, open(os.path.join(lib_dir, so), "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    print("extracted", member)

# Headers: start from what the binding includes, follow #include "..." inside the wheel's
# tensorflow/include/ tree; angle-bracket includes that live in that tree are followed too.
PREFIX = "tensorflow/include/"
inc_re = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
todo = []
bdir = os.path.join(pkg, "binding")
for f in os.listdir(bdir):
    if f.endswith((".cc", ".h")):
        todo += inc_re.findall(open(os.path.join(bdir, f), encoding="utf-8").read())
seen = set()
while todo:
    h = todo.pop()
    if h in seen or PREFIX + h not in names:
        continue
    seen.add(h)
    data = z.read(PREFIX + h)
    out = os.path.join(inc_dir, h)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as fh:
        fh.write(data)
    todo += inc_re.findall(data.decode("utf-8", "replace"))
for need in ("tensorflow/c/c_api.h", "tensorflow/c/eager/c_api.h"):
    if need not in seen:
        sys.exit("wheel has no header " + need)
print("extracted %d headers" % len(seen))
PYEOF
  # Link names: binding.gyp links -ltensorflow -ltensorflow_framework (rpath $ORIGIN/../../deps/lib);
  # scripts/install.js treats deps/lib/libtensorflow.so.2.9.1 as "already downloaded".
  (cd "$DEPS/lib" \
    && ln -sf libtensorflow_cc.so.2 libtensorflow.so \
    && ln -sf libtensorflow_cc.so.2 libtensorflow.so.2 \
    && ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1 \
    && ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so \
    && ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1) \
    || fail "cannot make library links in $DEPS/lib"
  basename "$WHEEL" >"$DEPS/.wheel"
  if command -v ldd >/dev/null 2>&1 && ldd "$DEPS/lib/libtensorflow_cc.so.2" 2>>"$LOG" | grep -q "not found"; then
    ldd "$DEPS/lib/libtensorflow_cc.so.2" >>"$LOG" 2>&1
    fail "libtensorflow_cc.so.2 has unresolved shared libraries (see $LOG)"
  fi
fi

# ---- 3. build the binding from source ---------------------------------------------------
step "building the tfjs_binding addon from source (node-pre-gyp install --build-from-source)"
# node-gyp needs Node's headers: use local ones (no download). node-pre-gyp run outside npm
# does not see an npmrc `nodedir`, so pass it through the environment.
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in "$(npm config get nodedir 2>/dev/null)" \
           "$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)"; do
    if [ -n "$d" ] && [ -f "$d/include/node/node_api.h" ]; then export npm_config_nodedir="$d"; break; fi
  done
fi
(cd "$PKG" && PATH="$NATIVE_DIR/node_modules/.bin:$PATH" \
  node-pre-gyp install --build-from-source) >>"$LOG" 2>&1 \
  || fail "building the binding failed (see $LOG)"

# ---- 4. check ---------------------------------------------------------------------------
step "checking that @tensorflow/tfjs-node loads"
GOT="$(check_backend)"
[ "$GOT" = tensorflow ] || fail "built, but loading it gave '${GOT:-nothing}' (see $LOG)"
echo "native backend ready: $PKG (tensorflow-cpu $TF_WHEEL_VERSION C library, wheel ${WHEEL_MB} MB, $(( $(date +%s) - T0 )) s)"
fi

# ---- 5. esmm-lab's own kernels ------------------------------------------------------------
# lib/backend/native-kernels.cc (fused Adam, ...) compiled against the same wheel's C++ headers and its
# libtensorflow_framework.so.2 into native/esmm-kernels.node; lib/backend/native-kernels.ts loads it after
# tfjs-node. The headers (about 290 MB) are unpacked once into the wheel cache's folder. When this step fails
# the backend still works (the kernels' ops then run as chains of TensorFlow ops, slower): one line says so.
if ! kernels_current || [ "$FORCE" = 1 ]; then
  INC_DIR="$WHEEL_CACHE/include-$(basename "$WHEEL" .whl)"
  if [ ! -f "$INC_DIR/.complete" ]; then
    step "unpacking the wheel's C++ headers into $INC_DIR"
    rm -rf "$INC_DIR" && mkdir -p "$INC_DIR" \
      && "$PY" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("tensorflow/include/")])' "$WHEEL" "$INC_DIR" >>"$LOG" 2>&1 \
      && touch "$INC_DIR/.complete" \
      || { echo "native kernels not built: unpacking the headers failed (see $LOG); training runs without them"; exit 0; }
  fi
  step "compiling lib/backend/native-kernels.cc into $KERNELS_OUT"
  CXX="${CXX:-g++}"
  if "$CXX" -std=c++17 -O3 -ffp-contract=off -fno-math-errno -fPIC -shared -w -D_GLIBCXX_USE_CXX11_ABI=1 \
       -I"$INC_DIR/tensorflow/include" "$KERNELS_SRC" -o "$KERNELS_OUT.tmp" \
       -L"$PKG/deps/lib" -l:libtensorflow_framework.so.2 -Wl,-rpath,'$ORIGIN/node_modules/@tensorflow/tfjs-node/deps/lib' >>"$LOG" 2>&1; then
    mv "$KERNELS_OUT.tmp" "$KERNELS_OUT" && sha256sum "$KERNELS_SRC" | cut -c1-64 >"$KERNELS_STAMP"
    echo "native kernels ready: $KERNELS_OUT ($(( $(date +%s) - T0 )) s)"
  else
    rm -f "$KERNELS_OUT.tmp"
    echo "native kernels not built: $CXX failed on lib/backend/native-kernels.cc (see $LOG); training runs without them"
  fi
fi
