/** The API scopes a user's groups grant: each group named like an API scope grants that scope. */
export function scopesToAdd(groups: readonly string[], apiScopes: readonly string[]): string[] {
  const granted = new Set(groups);
  return apiScopes.filter((scope) => granted.has(scope));
}
