#!/usr/bin/env bash
# Stops and removes the mcp-gateway service and app; keeps /etc/mcp-gateway, /var/lib/mcp-gateway
# and the mcp-gateway user unless given --purge. Same options as install-autostart.sh --uninstall.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/install-autostart.sh" --uninstall "$@"
