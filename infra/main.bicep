// One `azd up` (or `make deploy`): a resource group and everything the reporter runs on.
// Every resource is declared in this folder (no registry modules), so `make test` can check it
// offline with checkov (tests/infra/test_checkov.py).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment; names the resource group and every resource in it.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (Flex Consumption must be offered there).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person or pipeline running the deployment; gets Key Vault Secrets Officer so it can put the secrets in (empty: no such grant).')
param principalId string = ''

@description('User or ServicePrincipal: the kind of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Python of the Flex Consumption runtime; 3.11 is what CI tests (docs/deploy.md).')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@description('Mixpanel service account user name (not a secret; its secret is in Key Vault).')
param mixpanelUsername string

@description('Numeric Mixpanel project id.')
param mixpanelProjectId string

@description('Mixpanel data residency: us, eu or in.')
@allowed([
  'us'
  'eu'
  'in'
])
param mixpanelRegion string = 'us'

@description('Company name shown in reports.')
param companyName string = 'Analytics'

@description('IANA time zone of the reports (Flex has no WEBSITE_TIME_ZONE: the app converts).')
param timezone string = 'Europe/London'

@description('Local hour (0-23) the reports post at; the app checks it (REPORT_HOUR).')
param reportHour string = '9'

@description('true: SLACK_WEBHOOK_URL is read from the vault secret slack-webhook-url.')
param slackWebhookEnabled bool = true

@description('true: SLACK_BOT_TOKEN from the vault secret slack-bot-token, posting to slackChannel.')
param slackBotEnabled bool = false

@description('Slack channel id for the bot token (with slackBotEnabled).')
param slackChannel string = ''

@description('true: SMTP_PASSWORD from the vault secret smtp-password.')
param smtpPasswordEnabled bool = false

@description('true: the /analytics slash command (docs/slash-command.md): SLACK_SIGNING_SECRET from the vault secret slack-signing-secret, for the workspace slackTeamId.')
param slackCommandEnabled bool = false

@description('Slack workspace (team) id allowed to use /analytics, e.g. T0123ABCD (with slackCommandEnabled).')
param slackTeamId string = ''

@description('Settings named by the [[report]] destinations of the metrics file, e.g. SLACK_WEBHOOK_GROWTH; each is read from the vault secret of the same name in kebab case (slack-webhook-growth).')
param reportDestinations array = []

@description('Further non-secret settings (docs/settings.md), e.g. {"DAILY_REPORT_DAYS": "mon-fri"}.')
param extraSettings object = {}

var tags = {
  'azd-env-name': environmentName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'resources'
  scope: rg
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    principalId: principalId
    principalType: principalType
    pythonVersion: pythonVersion
    mixpanelUsername: mixpanelUsername
    mixpanelProjectId: mixpanelProjectId
    mixpanelRegion: mixpanelRegion
    companyName: companyName
    timezone: timezone
    reportHour: reportHour
    slackWebhookEnabled: slackWebhookEnabled
    slackBotEnabled: slackBotEnabled
    slackChannel: slackChannel
    smtpPasswordEnabled: smtpPasswordEnabled
    slackCommandEnabled: slackCommandEnabled
    slackTeamId: slackTeamId
    reportDestinations: reportDestinations
    extraSettings: extraSettings
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName
output APPLICATIONINSIGHTS_NAME string = resources.outputs.applicationInsightsName
