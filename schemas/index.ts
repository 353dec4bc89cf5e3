import { EmailVerificationConfirmation, PasswordResetConfirmation, PasswordResetRequest } from './account.js'
import { AuthorizationServerMetadata, Jwks, RevokeRequest, Session, SessionList, TokenRequest, TokenResponse } from './auth.js'
import { CloudEvent, EventList } from './event.js'
import { Health, NotReady } from './health.js'
import { Problem, ValidationProblem } from './problem.js'
import { User, UserCreate, UserList, UserPatch, UserReplace } from './user.js'

/** Added to the app once, referenced by `$id` everywhere else. */
export const sharedSchemas = [
  Problem, ValidationProblem, Health, NotReady,
  TokenRequest, TokenResponse, RevokeRequest, Session, SessionList, Jwks, AuthorizationServerMetadata,
  PasswordResetRequest, PasswordResetConfirmation, EmailVerificationConfirmation,
  CloudEvent, EventList,
  User, UserCreate, UserReplace, UserPatch, UserList
]
