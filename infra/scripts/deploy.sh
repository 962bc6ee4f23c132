#!/usr/bin/env sh
# `make deploy` (infra + secrets + code) and `make release` (code only) with the Azure CLI:
# the same result as `azd up` / `azd deploy`. Needs `az login` and, for a first deploy,
# AZURE_ENV_NAME and AZURE_LOCATION; MIXPANEL_USERNAME and MIXPANEL_PROJECT_ID come from the
# environment or from .env. Secrets go to Key Vault through put_secrets.py, never as arguments.
set -eu
mode=${1:-all}
env_name=${AZURE_ENV_NAME:?set AZURE_ENV_NAME, e.g. AZURE_ENV_NAME=reporter-prod make deploy}
deployment="analytics-reporter-$env_name"

from_dotenv() {  # a non-secret value from the environment, else from .env, else $2
    eval "current=\${$1:-}"
    if [ -z "$current" ] && [ -f .env ]; then
        current=$(sed -n "s/^$1=//p" .env | tail -n 1 | sed 's/^["'\'']//; s/["'\'']$//')
    fi
    printf '%s' "${current:-$2}"
}

output() {
    az deployment sub show --name "$deployment" --query "properties.outputs.$1.value" -o tsv
}

if [ "$mode" = all ]; then
    location=${AZURE_LOCATION:?set AZURE_LOCATION, e.g. AZURE_LOCATION=swedencentral}
    principal=$(az ad signed-in-user show --query id -o tsv 2>/dev/null || true)
    az deployment sub create --name "$deployment" --location "$location" \
        --template-file infra/main.bicep \
        --parameters infra/main.parameters.json \
        --parameters environmentName="$env_name" location="$location" \
            principalId="$principal" principalType=User \
            pythonVersion="$(from_dotenv PYTHON_VERSION 3.11)" \
            mixpanelUsername="$(from_dotenv MIXPANEL_USERNAME '')" \
            mixpanelProjectId="$(from_dotenv MIXPANEL_PROJECT_ID '')" \
            mixpanelRegion="$(from_dotenv MIXPANEL_REGION us)" \
            companyName="$(from_dotenv COMPANY_NAME Analytics)" \
            timezone="$(from_dotenv TIMEZONE Europe/London)" \
            reportHour="$(from_dotenv REPORT_HOUR 9)" \
            slackCommandEnabled="$(from_dotenv SLACK_COMMAND_ENABLED false)" \
            slackTeamId="$(from_dotenv SLACK_TEAM_ID '')" \
        --output none
fi

AZURE_RESOURCE_GROUP=$(output AZURE_RESOURCE_GROUP)
AZURE_FUNCTION_APP_NAME=$(output AZURE_FUNCTION_APP_NAME)
AZURE_KEY_VAULT_NAME=$(output AZURE_KEY_VAULT_NAME)
export AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_KEY_VAULT_NAME

if [ "$mode" = all ]; then
    python3 infra/scripts/put_secrets.py --from-env-file .env
fi

python3 infra/scripts/package.py --out dist/functionapp.zip
az functionapp deployment source config-zip --resource-group "$AZURE_RESOURCE_GROUP" \
    --name "$AZURE_FUNCTION_APP_NAME" --src dist/functionapp.zip --build-remote true --output none
echo "deployed dist/functionapp.zip to $AZURE_FUNCTION_APP_NAME ($AZURE_RESOURCE_GROUP)"
