/**
 * Cognito pre token generation trigger (event version 2): adds to a user's access token the API
 * scopes named by the user's groups. Tokens from InitiateAuth/AdminInitiateAuth carry no custom
 * scopes on their own (only the OAuth endpoints add resource-server scopes), so without this a test
 * user could never call a route that needs `products:write`.
 *
 * Environment: `API_SCOPES`, a JSON list of the scopes a group may grant (the groups of the same names).
 *
 * AWS APIs called at run time: none (Cognito invokes it and reads its answer).
 */
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { scopesToAdd } from './scopes';

const apiScopes = parseApiScopes(process.env.API_SCOPES);

function parseApiScopes(raw: string | undefined): readonly string[] {
  const parsed = JSON.parse(raw ?? '[]') as unknown;
  if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) throw new Error(`API_SCOPES must be a JSON list of strings, got ${raw}`);
  return parsed as string[];
}

export const handler = async (event: PreTokenGenerationV2TriggerEvent): Promise<PreTokenGenerationV2TriggerEvent> => {
  const add = scopesToAdd(event.request.groupConfiguration?.groupsToOverride ?? [], apiScopes);
  if (add.length > 0) {
    event.response = { claimsAndScopeOverrideDetails: { accessTokenGeneration: { scopesToAdd: add } } };
  }
  return event;
};
