// The Lambda handler: L1 + Redis + PostgreSQL, wired from the environment the constructs set.
import { bindResource, createPyramidRuntime } from 'cache-pyramid/runtime';
import { Recipe, recipe } from './resources';

const runtime = createPyramidRuntime();

export const handler = runtime.handler({
  bindings: [
    bindResource<Recipe>({
      resource: recipe,
      load: async ({ slug }) => (await runtime.db.query<Recipe>('SELECT slug, title FROM recipes WHERE slug = $1', [slug])).rows[0] ?? null,
    }),
  ],
});
