import { start } from './start';

// `document.currentScript` is only set while this script first runs, so read it now,
// before anything asynchronous.
start(typeof document !== 'undefined' ? document.currentScript : null);
