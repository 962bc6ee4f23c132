// Everything the reporter runs on, in one resource group: identity, storage, Key Vault,
// monitoring, the Flex Consumption plan and the function app, and the roles between them.
// No keys: storage, Key Vault and Application Insights are reached with the app's identity.

param environmentName string
param location string
param tags object
param principalId string
param principalType string
param pythonVersion string
param mixpanelUsername string
param mixpanelProjectId string
param mixpanelRegion string
param companyName string
param timezone string
param reportHour string
param slackWebhookEnabled bool
param slackBotEnabled bool
param slackChannel string
param smtpPasswordEnabled bool
param slackCommandEnabled bool
param slackTeamId string
param reportDestinations array
param extraSettings object

var token = toLower(uniqueString(subscription().id, resourceGroup().id, location, environmentName))
var appName = 'func-${token}'
var deploymentContainer = 'app-package-${token}'
var deliveryTable = 'reportdeliveries'

// Built-in role definition ids (docs/deploy.md lists where each comes from).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

// ---------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${token}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_59: Without a VNet the Flex app reaches its storage over the public endpoint; shared keys are off and anonymous blob access is off, so every request needs the app's Entra identity.
  // checkov:skip=CKV_AZURE_35: A default Deny network rule would lock the Flex app (no VNet integration in this template) out of its own host storage; access needs the app's Entra identity.
  // checkov:skip=CKV_AZURE_43: The name is 'st' plus uniqueString() (13 lowercase letters and digits), legal by construction; checkov cannot evaluate the expression.
  // checkov:skip=CKV_AZURE_206: Locally redundant on purpose (cost); the ledger and host state live one region, like the app. Use Standard_ZRS or GRS where a regional outage must not risk a repeated post.
  name: 'st${token}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex deploys from this container: the package zip lands here and the host runs it.
resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The delivery ledger (exactly-once posts) and the chart-refusal memory beside it.
resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: deliveryTable
}

resource chartsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: '${deliveryTable}charts'
}

// ---------------------------------------------------------------- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${token}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry is accepted only with an Entra token (the app's identity), never the key alone.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- Key Vault

// API 2026-02-01: earlier control-plane versions retire on 27 Feb 2027.
resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  // checkov:skip=CKV_AZURE_109: Without a VNet the platform resolves Key Vault references over the public endpoint; access is by Entra RBAC only (no access policies, no keys).
  // checkov:skip=CKV_AZURE_189: Disabling public network access would break the app's Key Vault references (no VNet integration in this template); access is by Entra RBAC only.
  name: 'kv-${token}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// ---------------------------------------------------------------- roles of the app's identity

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// SlackCommand puts each command on the slack-commands queue (an output binding) and
// SlackCommandWorker is triggered by it, both through the host's identity-based storage.
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// The person (or pipeline) deploying may put and rotate secrets; nobody else gets to.
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

// ---------------------------------------------------------------- app settings

// Read by the code (docs/settings.md); tests/infra/test_settings_contract.py keeps them in step.
var plainSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identity.properties.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  }
  {
    name: 'MIXPANEL_USERNAME'
    value: mixpanelUsername
  }
  {
    name: 'MIXPANEL_PROJECT_ID'
    value: mixpanelProjectId
  }
  {
    name: 'MIXPANEL_REGION'
    value: mixpanelRegion
  }
  {
    name: 'COMPANY_NAME'
    value: companyName
  }
  {
    name: 'TIMEZONE'
    value: timezone
  }
  {
    name: 'REPORT_HOUR'
    value: reportHour
  }
  {
    name: 'DELIVERY_TABLE'
    value: deliveryTable
  }
]

// Secrets: each value is a Key Vault reference resolved by the platform with the app's
// identity; the secret itself never passes through this template (docs/deploy.md).
var secretSettings = [
  {
    name: 'MIXPANEL_SECRET'
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=mixpanel-secret)'
  }
]

var webhookSettings = slackWebhookEnabled ? [
  {
    name: 'SLACK_WEBHOOK_URL'
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=slack-webhook-url)'
  }
] : []

var botSettings = slackBotEnabled ? [
  {
    name: 'SLACK_BOT_TOKEN'
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=slack-bot-token)'
  }
  {
    name: 'SLACK_CHANNEL'
    value: slackChannel
  }
] : []

var smtpSettings = smtpPasswordEnabled ? [
  {
    name: 'SMTP_PASSWORD'
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=smtp-password)'
  }
] : []

// The /analytics slash command: Slack's signing secret, and the one workspace allowed.
var slashSettings = slackCommandEnabled ? [
  {
    name: 'SLACK_SIGNING_SECRET'
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=slack-signing-secret)'
  }
  {
    name: 'SLACK_TEAM_ID'
    value: slackTeamId
  }
] : []

// Each [[report]]'s destination setting (e.g. SLACK_WEBHOOK_GROWTH), from the secret of the
// same name in kebab case (slack-webhook-growth).
var destinationSettings = [
  for destination in reportDestinations: {
    name: destination
    value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${toLower(replace(destination, '_', '-'))})'
  }
]

var optionalSettings = [
  for setting in items(extraSettings): {
    name: setting.key
    value: string(setting.value)
  }
]

// ---------------------------------------------------------------- plan and app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Report timers retry and post once through the ledger, so a zone outage delays a post rather than losing it; zone redundancy on Flex is a per-region option (not verified here) that adds cost.
  name: 'plan-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_78: Flex Consumption rejects siteConfig.ftpsState ("FTPS not supported"); FTP and SCM basic auth are disabled below (basicPublishingCredentialsPolicies) instead.
  // checkov:skip=CKV_AZURE_17: CustomReport and AlertBacktest are called by people and scripts with a function key; client certificates would lock them out.
  // checkov:skip=CKV_AZURE_16: App Service Authentication (Entra sign-in) in front of the function-key API would lock out its scripts; the app itself has a managed identity (CKV_AZURE_71).
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales instances on demand (maximumInstanceCount); there is no fixed worker count to set.
  // checkov:skip=CKV_AZURE_222: The on-demand HTTP API is meant to be reachable; every call needs a function key.
  // checkov:skip=CKV_AZURE_213: The app is mostly timers; a health-check probe would call it around the clock and keep an instance billed on Flex.
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'reporter'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the same identity that holds Key Vault Secrets User.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: concat(plainSettings, secretSettings, webhookSettings, botSettings, smtpSettings, slashSettings, destinationSettings, optionalSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
  dependsOn: [
    blobOwner
    tableContributor
    metricsPublisher
    secretsUser
    packageContainer
  ]
}

// No FTP and no SCM basic auth: deployments authenticate with Entra (azd, az, OIDC).
resource ftpOff 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuthOff 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output functionAppName string = app.name
output keyVaultName string = vault.name
output storageAccountName string = storage.name
output applicationInsightsName string = appInsights.name
