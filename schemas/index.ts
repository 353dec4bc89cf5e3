import { EmailVerificationConfirmation, PasswordResetConfirmation, PasswordResetRequest } from './account.ts'
import { AuthorizationServerMetadata, Jwks, RevokeRequest, Session, SessionList, TokenRequest, TokenResponse } from './auth.ts'
import { CloudEvent, EventList } from './event.ts'
import { Health, NotReady } from './health.ts'
import { Problem, ValidationProblem } from './problem.ts'
import { User, UserCreate, UserList, UserPatch, UserReplace } from './user.ts'

/** Added to the app once, referenced by `$id` everywhere else. */
export const sharedSchemas = [
  Problem, ValidationProblem, Health, NotReady,
  TokenRequest, TokenResponse, RevokeRequest, Session, SessionList, Jwks, AuthorizationServerMetadata,
  PasswordResetRequest, PasswordResetConfirmation, EmailVerificationConfirmation,
  CloudEvent, EventList,
  User, UserCreate, UserReplace, UserPatch, UserList
]
