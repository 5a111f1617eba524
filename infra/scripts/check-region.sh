#!/bin/sh
# Stops a deployment early when its region cannot run acrsink. Flex
# Consumption is offered in some regions only, and each region lists its
# own runtimes (az functionapp list-flexconsumption-locations and
# list-flexconsumption-runtimes, learn.microsoft.com, flex-consumption-how-to).
# acrsink deploys functionAppConfig.runtime custom 1.0, and a runtime a
# region does not list deploys and then fails at start (Azure/Azure-Functions
# #2666): better to refuse here, before anything is made.
#
# Environment: AZURE_LOCATION (azd's region). Needs az, signed in; without
# them, or when az cannot answer, it says it did not check and succeeds:
# only a region Azure says cannot run acrsink stops the deployment.
set -u

fail() {
  echo "acrsink: $*" >&2
  exit 1
}
skip() {
  echo "acrsink: region not checked: $*" >&2
  exit 0
}

loc=$(printf '%s' "${AZURE_LOCATION:-}" | tr 'A-Z' 'a-z' | tr -d ' \t\r\n')
[ -n "$loc" ] || skip "AZURE_LOCATION is not set yet (azd env set AZURE_LOCATION <region> to have it checked)"
command -v az >/dev/null 2>&1 || skip "az is not installed"
az account show -o none >/dev/null 2>&1 || skip "az is not signed in (az login)"

if ! regions=$(az functionapp list-flexconsumption-locations --query '[].name' -o tsv 2>/dev/null); then
  skip "az functionapp list-flexconsumption-locations failed (an older Azure CLI? az upgrade)"
fi
if ! printf '%s\n' "$regions" | tr 'A-Z' 'a-z' | tr -d ' \t\r' | grep -qx "$loc"; then
  fail "$loc does not offer Flex Consumption, which acrsink runs on. Pick a region that does (az functionapp list-flexconsumption-locations -o table), then: azd env set AZURE_LOCATION <region>"
fi

if ! versions=$(az functionapp list-flexconsumption-runtimes -l "$loc" --runtime custom --query '[].version' -o tsv 2>&1); then
  case "$versions" in
  *"not supported"*) fail "$loc does not offer the custom handler runtime on Flex Consumption ($(printf '%s' "$versions" | head -n 1)). Pick another region (az functionapp list-flexconsumption-runtimes -l <region> --runtime custom), then: azd env set AZURE_LOCATION <region>" ;;
  *) skip "az functionapp list-flexconsumption-runtimes failed: $(printf '%s' "$versions" | head -n 1)" ;;
  esac
fi
if ! printf '%s\n' "$versions" | tr -d ' \t\r' | grep -qx '1.0'; then
  listed=$(printf '%s' "$versions" | tr -s ' \t\r\n' ' ')
  fail "$loc does not list the custom handler runtime 1.0 on Flex Consumption (it lists: ${listed:-none}), which acrsink deploys. Pick another region (az functionapp list-flexconsumption-runtimes -l <region> --runtime custom), then: azd env set AZURE_LOCATION <region>"
fi
echo "acrsink: $loc offers Flex Consumption with the custom handler runtime 1.0"
