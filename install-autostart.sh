#!/usr/bin/env bash
# Installs mcp-gateway as a systemd service that starts on boot: the built app under
# /opt/mcp-gateway, a config under /etc/mcp-gateway (only when none is there), state under
# /var/lib/mcp-gateway, an mcp-gateway user in the Docker socket's group, and the unit. Safe to
# re-run: it updates the app and the unit and restarts the service, and never touches a config.
#
#   npm ci && npm run build && sudo ./install-autostart.sh
#
# Run with --help for the options. The commands that change the system outside the root
# directory can be replaced for tests: SYSTEMCTL, USERADD, USERMOD, USERDEL (each a command
# name or path; the default is the real one).
set -euo pipefail

readonly SERVICE=mcp-gateway
readonly UNIT_NAME=mcp-gateway.service
readonly APP_DIR=/opt/mcp-gateway
readonly CONFIG_DIR=/etc/mcp-gateway
readonly STATE_DIR=/var/lib/mcp-gateway
readonly UNIT_FILE=/etc/systemd/system/$UNIT_NAME
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SOURCE_DIR

SYSTEMCTL=${SYSTEMCTL:-systemctl}
USERADD=${USERADD:-useradd}
USERMOD=${USERMOD:-usermod}
USERDEL=${USERDEL:-userdel}
NODE=${NODE:-node}
NPM=${NPM:-npm}
DOCKER_SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
DOCKER_GROUP=${DOCKER_GROUP:-}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-30}
HEALTH_URL=${HEALTH_URL:-}

usage() {
  cat <<EOF
Usage: $(basename "$0") [--dry-run] [--no-start] [--root DIR]
       $(basename "$0") --uninstall [--purge] [--dry-run] [--root DIR]

Installs mcp-gateway as the systemd service $UNIT_NAME, enabled at boot.

  --dry-run     print what would be done, change nothing
  --no-start    install and enable, but do not (re)start the service now
  --uninstall   stop and disable the service, remove the unit and $APP_DIR;
                keep $CONFIG_DIR, $STATE_DIR and the $SERVICE user
  --purge       with --uninstall: remove those too
  --root DIR    install into DIR instead of / (a scratch tree); then SYSTEMCTL and
                USERADD/USERMOD/USERDEL must name stand-ins, as this machine's service
                manager and user database are not DIR's
  -h, --help    this help

Environment: NODE (the Node.js 24 to run the service with; default node on the PATH), NPM,
DOCKER_SOCKET (default /var/run/docker.sock), DOCKER_GROUP (default the socket's group),
HEALTH_TIMEOUT (seconds to wait for /healthz; default 30), HEALTH_URL (the /healthz to wait
for; default http://127.0.0.1:PORT/healthz, and none with --root, whose service manager is a
stand-in that starts nothing).
EOF
}

say() { printf '==> %s\n' "$*"; }
fail() {
  printf 'install-autostart: %s\n' "$*" >&2
  exit 1
}

# Runs a command, or with --dry-run prints it.
run() {
  if [ "$dry_run" = 1 ]; then
    printf '[dry-run]'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

mode=install
dry_run=0
start=1
purge=0
root=/
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1 ;;
    --no-start) start=0 ;;
    --uninstall) mode=uninstall ;;
    --purge) purge=1 ;;
    --root)
      [ $# -ge 2 ] || fail "--root needs a directory"
      root=$2
      shift
      ;;
    --root=*) root=${1#--root=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  shift
done
[ "$purge" = 0 ] || [ "$mode" = uninstall ] || fail "--purge goes with --uninstall"

[ -d "$root" ] || fail "--root $root is not a directory"
# Every path below is under $r: "" for the real system.
r=$(cd "$root" && pwd)
[ "$r" = / ] && r=
if [ -n "$r" ]; then
  for variable in SYSTEMCTL USERADD USERMOD USERDEL; do
    case ${!variable} in
      systemctl | useradd | usermod | userdel)
        fail "with --root, set $variable to a stand-in: this machine's is not $r's"
        ;;
    esac
  done
elif [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  fail "run as root: sudo $0"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

user_exists() { grep -q "^$SERVICE:" "$r/etc/passwd" 2>/dev/null; }

# Whether $SERVICE is a member of group $1 (as a supplementary member in /etc/group).
in_group() {
  awk -F: -v group="$1" -v user="$SERVICE" \
    '$1 == group { n = split($4, members, ","); for (i = 1; i <= n; i++) if (members[i] == user) found = 1 }
     END { exit !found }' "$r/etc/group" 2>/dev/null
}

uninstall() {
  if [ -f "$r$UNIT_FILE" ]; then
    say "stopping and disabling $UNIT_NAME"
    run "$SYSTEMCTL" disable --now "$UNIT_NAME"
    run rm -f "$r$UNIT_FILE"
    run "$SYSTEMCTL" daemon-reload
  fi
  if [ -e "$r$APP_DIR" ]; then
    say "removing $APP_DIR"
    run rm -rf "$r$APP_DIR"
  fi
  if [ "$purge" = 1 ]; then
    say "removing $CONFIG_DIR, $STATE_DIR and the $SERVICE user"
    run rm -rf "$r$CONFIG_DIR" "$r$STATE_DIR"
    if user_exists; then run "$USERDEL" "$SERVICE"; fi
  else
    say "kept $CONFIG_DIR (config), $STATE_DIR (state) and the $SERVICE user; --purge removes them"
  fi
  if [ "$dry_run" = 1 ]; then
    say "dry run: nothing was changed"
  else
    say "mcp-gateway is uninstalled"
  fi
}

if [ "$mode" = uninstall ]; then
  uninstall
  exit 0
fi

# --- Prerequisites: checked before anything changes. -------------------------------------------

node_bin=$(command -v "$NODE" 2>/dev/null) || fail "Node.js 24 is needed and there is no $NODE on the PATH: install Node.js 24 (https://nodejs.org), or set NODE=/path/to/node"
node_bin=$(readlink -f "$node_bin")
node_version=$("$node_bin" --version 2>/dev/null) || fail "$node_bin does not run"
node_major=${node_version#v}
node_major=${node_major%%.*}
if ! [[ $node_major =~ ^[0-9]+$ ]] || [ "$node_major" -lt 24 ]; then
  fail "Node.js 24 or newer is needed; $node_bin is $node_version. Install Node.js 24, or set NODE=/path/to/node"
fi
case $node_bin in
  /home/* | /root/* | /run/user/*)
    fail "$node_bin is under a home directory, which the service cannot see (ProtectHome=yes): install Node.js 24 system-wide (e.g. under /usr/local), or set NODE to one that is"
    ;;
  /tmp/* | /var/tmp/*)
    fail "$node_bin is under ${node_bin%%/tmp/*}/tmp, which the service cannot see (PrivateTmp=yes gives it an empty one): install Node.js 24 system-wide (e.g. under /usr/local), or set NODE to one that is"
    ;;
esac

[ -f "$SOURCE_DIR/dist/cli.js" ] \
  || fail "$SOURCE_DIR/dist is missing: build first with 'npm ci && npm run build' (as yourself), then re-run this"
if [ -n "$(find "$SOURCE_DIR/src" -type f -newer "$SOURCE_DIR/dist/cli.js" -print -quit)" ]; then
  fail "$SOURCE_DIR/dist is older than src/: rebuild with 'npm run build', then re-run this"
fi

# A ping over the socket, with the Node.js just found (the docker CLI need not be installed).
"$node_bin" -e '
  const request = require("node:http").get(
    { socketPath: process.argv[1], path: "/_ping", timeout: 3000 },
    response => process.exit(response.statusCode === 200 ? 0 : 1)
  );
  request.on("error", () => process.exit(1)).on("timeout", () => process.exit(1));' "$DOCKER_SOCKET" \
  || fail "no Docker engine answers on $DOCKER_SOCKET: install and start Docker (e.g. 'systemctl enable --now docker'), or set DOCKER_SOCKET"
group=${DOCKER_GROUP:-$(stat -c %G "$DOCKER_SOCKET")}
[ "$group" != root ] \
  || fail "$DOCKER_SOCKET belongs to group root; the service user reaches it through a group such as docker: set DOCKER_GROUP"

command -v "$SYSTEMCTL" >/dev/null || fail "$SYSTEMCTL not found: this installs a systemd service"

say "installing mcp-gateway into ${r:-/} with $node_bin ($node_version)"

# --- The user: system account, its home the state directory, in the socket's group. -----------

if ! user_exists; then
  say "creating the $SERVICE user (in group $group)"
  run "$USERADD" --system --user-group --home-dir "$STATE_DIR" --no-create-home \
    --shell /usr/sbin/nologin --groups "$group" "$SERVICE"
elif ! in_group "$group"; then
  say "adding the $SERVICE user to group $group"
  run "$USERMOD" --append --groups "$group" "$SERVICE"
fi

# --- Config: only what is missing; an existing file is never touched. ---------------------------

# Made when missing; an existing directory keeps the mode its owner gave it.
[ -d "$r$CONFIG_DIR" ] || run install -d -m 0755 "$r$CONFIG_DIR"
if [ -e "$r$CONFIG_DIR/servers.yaml" ]; then
  say "keeping $CONFIG_DIR/servers.yaml"
else
  say "installing the example $CONFIG_DIR/servers.yaml"
  run install -m 0644 "$SOURCE_DIR/servers.yaml" "$r$CONFIG_DIR/servers.yaml"
fi
if [ -e "$r$CONFIG_DIR/env" ]; then
  say "keeping $CONFIG_DIR/env"
else
  cat >"$tmp/env" <<'EOF'
# Environment of the mcp-gateway service: read by systemd (as root) when it starts the service.
# One NAME=value per line. Secrets for ${VAR} references in servers.yaml go here, e.g.
#   CONTEXT7_API_KEY=...
# and gateway settings (README.md, "Command line"), e.g.
#   GATEWAY_PORT=8000
#   LOG_LEVEL=info
EOF
  say "installing $CONFIG_DIR/env (for secrets; readable by root only)"
  run install -m 0600 "$tmp/env" "$r$CONFIG_DIR/env"
fi

# --- The app: staged beside the old one, then swapped in. --------------------------------------

stage=$r$APP_DIR.new
say "installing the app into $APP_DIR"
run rm -rf "$stage"
run install -d -m 0755 "$stage"
run cp -R "$SOURCE_DIR/dist" "$SOURCE_DIR/package.json" "$SOURCE_DIR/package-lock.json" "$stage/"
if [ -d "$r$APP_DIR/node_modules" ] && cmp -s "$SOURCE_DIR/package-lock.json" "$r$APP_DIR/package-lock.json"; then
  say "production dependencies unchanged: reusing them"
  run cp -R "$r$APP_DIR/node_modules" "$stage/"
else
  say "installing the production dependencies (npm ci --omit=dev)"
  run env PATH="$(dirname "$node_bin"):$PATH" "$NPM" ci --prefix "$stage" --omit=dev --ignore-scripts \
    --no-audit --no-fund --loglevel=error
fi
run chmod -R go=u-w "$stage"
port=8000
# The unit's PATH, with the directory of the Node.js the service runs on first (see the unit).
service_path=$(dirname "$node_bin"):$(sed -n 's/^Environment=PATH=//p' "$SOURCE_DIR/$UNIT_NAME" | tail -n 1)
if [ "$dry_run" = 0 ]; then
  # The new build checks the config, in the service's environment (the unit's PATH and NODE_ENV,
  # and the env file's ${VAR} secrets and GATEWAY_* settings; nothing of this shell's, which the
  # service will not have), before it replaces the running one: a config it refuses is reported
  # now, and the installed app and the service are left as they were.
  checked=$(env -i PATH="$service_path" NODE_ENV=production HOME="$STATE_DIR" \
    "$node_bin" --env-file="$r$CONFIG_DIR/env" "$stage/dist/cli.js" validate \
    --config "$r$CONFIG_DIR/servers.yaml") \
    || {
      rm -rf "$stage"
      fail "$CONFIG_DIR/servers.yaml has the problems above: fix it, then re-run this (nothing was replaced)"
    }
  # The port the service will listen on, as the gateway resolves it (env file, then the config).
  listening=$(printf '%s\n' "$checked" | sed -n 's/^gateway: listens on .*:\([0-9][0-9]*\)$/\1/p' | tail -n 1)
  port=${listening:-$port}
fi
run rm -rf "$r$APP_DIR.old"
if [ -e "$r$APP_DIR" ]; then run mv "$r$APP_DIR" "$r$APP_DIR.old"; fi
run mv "$stage" "$r$APP_DIR"
run rm -rf "$r$APP_DIR.old"

# --- The unit. ----------------------------------------------------------------------------------

sed -e "s|^ExecStart=/usr/bin/node |ExecStart=$node_bin |" \
  -e "s|^Environment=PATH=.*|Environment=PATH=$service_path|" \
  "$SOURCE_DIR/$UNIT_NAME" >"$tmp/$UNIT_NAME"
say "installing $UNIT_FILE"
run install -d -m 0755 "$r$(dirname "$UNIT_FILE")"
run install -m 0644 "$tmp/$UNIT_NAME" "$r$UNIT_FILE"
run "$SYSTEMCTL" daemon-reload
run "$SYSTEMCTL" enable "$UNIT_NAME"

url=http://127.0.0.1:$port
# With --root the service manager is a stand-in: nothing listens on this machine's port for the
# scratch tree, so there is nothing to wait for unless HEALTH_URL names it.
[ -n "$HEALTH_URL" ] || [ -n "$r" ] || HEALTH_URL=$url/healthz
if [ "$start" = 0 ]; then
  say "installed and enabled; not started (--no-start): systemctl start $UNIT_NAME"
else
  say "(re)starting $UNIT_NAME"
  run "$SYSTEMCTL" restart "$UNIT_NAME"
  if [ "$dry_run" = 0 ] && [ -z "$HEALTH_URL" ]; then
    say "not waiting for /healthz: with --root nothing really starts (set HEALTH_URL to wait for one)"
  elif [ "$dry_run" = 0 ]; then
    say "waiting for $HEALTH_URL"
    "$node_bin" -e '
      const [url, seconds] = process.argv.slice(1);
      const deadline = Date.now() + Number(seconds) * 1000;
      const attempt = () =>
        fetch(url, { signal: AbortSignal.timeout(2000) }).then(
          response => (response.ok ? process.exit(0) : retry()),
          retry
        );
      const retry = () => (Date.now() > deadline ? process.exit(1) : setTimeout(attempt, 500));
      attempt();' "$HEALTH_URL" "$HEALTH_TIMEOUT" \
      || fail "the service did not answer on $HEALTH_URL within ${HEALTH_TIMEOUT}s: see 'systemctl status $UNIT_NAME' and 'journalctl -u $UNIT_NAME -e'"
  fi
fi

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing was changed; without --dry-run, mcp-gateway would serve $url/mcp"
  exit 0
fi
say "mcp-gateway is installed and starts on boot: $url/mcp"
cat <<EOF

Add it to Claude Code:
  claude mcp add --transport http gateway $url/mcp

Config: $CONFIG_DIR/servers.yaml (then: systemctl restart $UNIT_NAME)
Logs:   journalctl -u $UNIT_NAME -f
EOF
