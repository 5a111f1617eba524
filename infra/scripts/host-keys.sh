#!/bin/sh
# Makes the Functions host's function keys match ACRSINK_FUNCTION_KEYS, the
# one source of truth for the webhook key (the handler reads the same list).
#
# The host checks keys itself when a function's authLevel is "function", so
# every key the handler accepts must also be a host key, or the host refuses
# the request before the handler sees it. Each accepted key becomes a host
# key named acrsink-<checksum of the key>: running this again changes
# nothing, and a rotation (OLD,NEW then NEW,OLD then NEW) only ever adds a
# key before it removes one, so the key the webhook sends is never refused.
# Keys it did not make (default, others') are left alone.
#
# Environment: AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME (main.bicep's
# outputs, which azd passes to hooks), ACRSINK_FUNCTION_KEYS. Needs az,
# signed in (az login).
#
# --best-effort: on a brand-new Flex Consumption app, host keys cannot be
# read or set until code is deployed (azure-functions-host #11379); after
# provisioning, warn and succeed, and let the run after the deploy do it.
set -eu

best_effort=false
if [ "${1:-}" = "--best-effort" ]; then
  best_effort=true
fi
rg=${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set}
app=${AZURE_FUNCTION_APP_NAME:?AZURE_FUNCTION_APP_NAME is not set}
keys=${ACRSINK_FUNCTION_KEYS:-}

# The wanted keys, one "name value" per line.
wanted=""
old_ifs=$IFS
IFS=,
for key in $keys; do
  key=$(printf '%s' "$key" | tr -d ' \t\r\n')
  [ -n "$key" ] || continue
  name="acrsink-$(printf '%s' "$key" | cksum | cut -d' ' -f1)"
  wanted="$wanted$name $key
"
done
IFS=$old_ifs
if [ -z "$wanted" ]; then
  # Deleting every key would lock the webhook out: refuse instead.
  echo "host-keys: ACRSINK_FUNCTION_KEYS is empty; not touching the host keys" >&2
  exit 1
fi

if ! present=$(az functionapp keys list -g "$rg" -n "$app" --query 'keys(functionKeys || `{}`)' -o tsv); then
  if $best_effort; then
    echo "host-keys: cannot read the host keys yet (a new Flex Consumption app has none before its first deploy); they are set after the deploy" >&2
    exit 0
  fi
  echo "host-keys: cannot read the host keys of $app" >&2
  exit 1
fi

# Add first...
printf '%s' "$wanted" | while read -r name key; do
  if ! printf '%s\n' "$present" | grep -qx "$name"; then
    az functionapp keys set -g "$rg" -n "$app" --key-type functionKeys \
      --key-name "$name" --key-value "$key" --output none
    echo "host-keys: added $name"
  fi
done

# ...then remove the keys this script made that are no longer accepted.
printf '%s\n' "$present" | while read -r name; do
  case "$name" in
    acrsink-*) ;;
    *) continue ;;
  esac
  if ! printf '%s' "$wanted" | cut -d' ' -f1 | grep -qx "$name"; then
    az functionapp keys delete -g "$rg" -n "$app" --key-type functionKeys \
      --key-name "$name" --output none
    echo "host-keys: removed $name"
  fi
done
