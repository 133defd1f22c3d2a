// Pure data: read by the handler and by the stack.
import { defineResource, ParamKind, Sharing, ttlClass } from 'cache-pyramid/runtime';

export interface Recipe {
  readonly slug: string;
  readonly title: string;
}

export const recipe = defineResource<Recipe>({
  name: 'recipe',
  path: '/api/recipes/{slug}',
  params: { slug: ParamKind.SLUG },
  sharing: Sharing.PUBLIC,
  ttl: ttlClass('recipe', 600),
});
