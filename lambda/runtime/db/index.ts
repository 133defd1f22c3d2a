export * from './migrations';
export * from './origin-errors';
export * from './pool';
