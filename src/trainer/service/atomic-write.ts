// Kept so existing imports keep working; the implementation lives in ../io/atomic-write.
export { writeFileAtomic, writeJsonAtomic } from '../io/atomic-write';
