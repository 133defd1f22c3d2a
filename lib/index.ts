export * from './api/api-function';
export * from './cache-pyramid-stack';
