/**
 * The articles app's cached resources, declared once. The handler binds loaders to them
 * (handler.ts); the CDK stack derives API routes, CloudFront behaviours and cache policies from the
 * same objects (stack.ts). Pure data: no client, no loader.
 */
import { defineResource, ParamKind, Sharing, TtlClass } from 'cache-pyramid/runtime';

export interface Article {
  readonly slug: string;
  readonly title: string;
  readonly body: string;
  readonly author: string;
  readonly version: number;
}

export interface Comment {
  readonly id: number;
  readonly author: string;
  readonly text: string;
  readonly createdAt: string;
}

export interface CommentPage {
  readonly article: string;
  readonly page: number;
  readonly comments: readonly Comment[];
}

export interface Drafts {
  readonly author: string;
  readonly drafts: readonly Pick<Article, 'slug' | 'title' | 'version'>[];
}

/** Comments per page of `GET /api/articles/{slug}/comments`. */
export const COMMENTS_PER_PAGE = 20;

/** `GET /api/articles/{slug}`: a published article, the same for everyone. */
export const article = defineResource<Article>({
  name: 'article',
  path: '/api/articles/{slug}',
  params: { slug: ParamKind.SLUG },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT,
  staleWhileRevalidate: true,
  version: (value) => value.version,
  tags: (value) => [`article:${value.slug}`],
});

/** The tag every cached page of an article's comments carries; a new comment purges it. */
export function commentsTag(slug: string): string {
  return `comments:${slug}`;
}

/**
 * `GET /api/articles/{slug}/comments?page=`: one page of an article's comments; a new comment purges
 * every page by tag, and the cached number of the last page with them, so a page past the last
 * answers 404 without a query until a comment makes it exist.
 */
export const comments = defineResource<CommentPage>({
  name: 'comments',
  path: '/api/articles/{slug}/comments',
  params: { slug: ParamKind.SLUG },
  query: { page: { kind: ParamKind.PAGE, default: 1 } },
  sharing: Sharing.PUBLIC,
  ttl: TtlClass.PRODUCT_LIST,
  tags: (_value, params) => [commentsTag(String(params.slug))],
  paging: { pageParam: 'page', listTags: (params) => [commentsTag(String(params.slug))] },
});

/** `GET /api/authors/{author}/drafts`: an author's unpublished articles, for that author only. */
export const drafts = defineResource<Drafts>({
  name: 'drafts',
  path: '/api/authors/{author}/drafts',
  params: { author: ParamKind.SLUG },
  sharing: Sharing.PER_SUBJECT,
  subjectParam: 'author',
  ttl: TtlClass.USER_PROFILE,
});

/** Everything the app caches, in the order the API matches it. */
export const ARTICLE_RESOURCES = [article, comments, drafts] as const;

/** `POST /api/articles/{slug}/comments`: a signed-in reader comments (JWT required). */
export const POST_COMMENT_ROUTE = 'POST /api/articles/{slug}/comments';
