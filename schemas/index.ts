import { EmailVerificationConfirmation, PasswordResetConfirmation, PasswordResetRequest } from './account.ts'
import { AuthorizationServerMetadata, IntrospectionRequest, IntrospectionResponse, Jwks, RevokeRequest, Session, SessionList, TokenRequest, TokenResponse } from './auth.ts'
import { ApiKey, ApiKeyCreate, ApiKeyList, Client, ClientCreate, ClientJwks, ClientList, ClientPatch, CreatedApiKey, CreatedClient, NewClientSecret, SecretRotation } from './client.ts'
import { CloudEvent, EventList } from './event.ts'
import { Health, NotReady } from './health.ts'
import { OAuthError, Problem, ValidationProblem } from './problem.ts'
import { AuthenticationCredential, CreationOptions, Factor, FactorAdded, FactorConfirmation, FactorList, MfaOptionsRequest, MfaRequest, MfaRequired, PasskeyLogin, RecoveryCodes, RegistrationCredential, RequestOptions, TotpEnrolment, TotpEnrolmentRequest, WebauthnRegistration } from './mfa.ts'
import { ScimDefinition, ScimDefinitionList, ScimError, ScimGroup, ScimGroupList, ScimPatchBody, ScimResourceBody, ScimServiceProviderConfig, ScimUser, ScimUserList } from './scim.ts'
import { ImportRequest, ImportSummary, PersonExport } from './transfer.ts'
import { User, UserCreate, UserList, UserPatch, UserReplace } from './user.ts'

/** Added to the app once, referenced by `$id` everywhere else. */
export const sharedSchemas = [
  Problem, ValidationProblem, OAuthError, Health, NotReady,
  TokenRequest, TokenResponse, RevokeRequest, IntrospectionRequest, IntrospectionResponse, Session, SessionList, Jwks, AuthorizationServerMetadata,
  PasswordResetRequest, PasswordResetConfirmation, EmailVerificationConfirmation,
  CloudEvent, EventList,
  User, UserCreate, UserReplace, UserPatch, UserList,
  ClientJwks, Client, CreatedClient, ClientCreate, ClientPatch, ClientList, SecretRotation, NewClientSecret, ApiKey, CreatedApiKey, ApiKeyCreate, ApiKeyList,
  Factor, FactorList, FactorAdded, RecoveryCodes, TotpEnrolmentRequest, TotpEnrolment, FactorConfirmation, RegistrationCredential, AuthenticationCredential,
  WebauthnRegistration, CreationOptions, RequestOptions, MfaRequest, MfaOptionsRequest, PasskeyLogin, MfaRequired,
  ScimUser, ScimGroup, ScimUserList, ScimGroupList, ScimServiceProviderConfig, ScimDefinitionList, ScimDefinition, ScimError, ScimResourceBody, ScimPatchBody,
  ImportRequest, ImportSummary, PersonExport
]
