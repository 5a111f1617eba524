#!/bin/sh
# Stops a deployment early when its region cannot run acrsink. Flex
# Consumption is offered in some regions only, and each region lists its
# own runtimes (az functionapp list-flexconsumption-locations and
# list-flexconsumption-runtimes, learn.microsoft.com, flex-consumption-how-to).
# acrsink deploys functionAppConfig.runtime custom 1.0, and a runtime a
# region does not list deploys and then fails at start (Azure/Azure-Functions
# #2666): better to refuse here, before anything is made.
#
# Only a verdict read from az's answer stops the deployment. What the
# answer looks like is read in azure-cli's source
# (src/azure-cli/azure/cli/command_modules/appservice/custom.py):
# - list-flexconsumption-locations returns [{"name": "<region>"}, ...], the
#   names lower-case without spaces (list_flexconsumption_locations);
# - list-flexconsumption-runtimes (list_flex_function_app_runtimes) fails
#   with "Runtime '<runtime>' not supported for function apps on the Flex
#   Consumption plan." when the region lists no such runtime, and otherwise
#   returns the runtime's versions, each an object with a "version" field
#   (_FlexFunctionAppStackRuntimeHelper.Runtime: name, version, sku, ...),
#   so never an empty list.
# An answer of another shape (an older or newer Azure CLI) is a warning, not
# a refusal: the script says it could not read it and succeeds. So do a
# missing az, a signed-out one, or an az call that fails for another reason.
#
# Environment: AZURE_LOCATION (azd's region). Needs az, signed in.
set -u

fail() {
  echo "acrsink: $*" >&2
  exit 1
}
skip() {
  echo "acrsink: region not checked: $*" >&2
  exit 0
}
warn() {
  echo "acrsink: WARNING: region not checked: $*. Check it by hand (docs/deploy.md, \"Pick a region that runs acrsink\"); the deployment goes on." >&2
  exit 0
}

loc=$(printf '%s' "${AZURE_LOCATION:-}" | tr 'A-Z' 'a-z' | tr -d ' \t\r\n')
[ -n "$loc" ] || skip "AZURE_LOCATION is not set yet (azd env set AZURE_LOCATION <region> to have it checked)"
command -v az >/dev/null 2>&1 || skip "az is not installed"
az account show -o none >/dev/null 2>&1 || skip "az is not signed in (az login)"

# az's own messages (warnings included, even on success) go to stderr, kept
# apart from the answer.
errs="${TMPDIR:-/tmp}/acrsink-check-region.$$"
trap 'rm -f "$errs"' EXIT

if ! regions=$(az functionapp list-flexconsumption-locations --query '[].name' -o tsv 2>"$errs"); then
  skip "az functionapp list-flexconsumption-locations failed: $(head -n 1 "$errs") (an older Azure CLI? az upgrade)"
fi
regions=$(printf '%s\n' "$regions" | tr 'A-Z' 'a-z' | tr -d ' \t\r' | grep -v '^$')
[ -n "$regions" ] || warn "az functionapp list-flexconsumption-locations answered no region name at all, not the [{\"name\": ...}] list this script reads"
if ! printf '%s\n' "$regions" | grep -qx "$loc"; then
  fail "$loc does not offer Flex Consumption, which acrsink runs on. Pick a region that does (az functionapp list-flexconsumption-locations -o table), then: azd env set AZURE_LOCATION <region>"
fi

if ! versions=$(az functionapp list-flexconsumption-runtimes -l "$loc" --runtime custom --query '[].version' -o tsv 2>"$errs"); then
  case "$(cat "$errs")" in
  *"not supported"*) fail "$loc does not offer the custom handler runtime on Flex Consumption ($(grep -m 1 'not supported' "$errs")). Pick another region (az functionapp list-flexconsumption-runtimes -l <region> --runtime custom), then: azd env set AZURE_LOCATION <region>" ;;
  *) skip "az functionapp list-flexconsumption-runtimes failed: $(head -n 1 "$errs")" ;;
  esac
fi
versions=$(printf '%s\n' "$versions" | tr -d ' \t\r' | grep -v '^$')
[ -n "$versions" ] || warn "az functionapp list-flexconsumption-runtimes -l $loc --runtime custom succeeded but gave no version field, not the list of runtime versions this script reads"
if printf '%s\n' "$versions" | grep -qv '^[0-9][0-9.]*$'; then
  warn "az functionapp list-flexconsumption-runtimes -l $loc --runtime custom gave versions this script cannot read: $(printf '%s' "$versions" | tr -s ' \t\r\n' ' ' | head -c 200)"
fi
if ! printf '%s\n' "$versions" | grep -qx '1\.0'; then
  listed=$(printf '%s' "$versions" | tr -s ' \t\r\n' ' ')
  fail "$loc does not list the custom handler runtime 1.0 on Flex Consumption (it lists: $listed), which acrsink deploys. Pick another region (az functionapp list-flexconsumption-runtimes -l <region> --runtime custom), then: azd env set AZURE_LOCATION <region>"
fi
echo "acrsink: $loc offers Flex Consumption with the custom handler runtime 1.0"
