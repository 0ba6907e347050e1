import { start } from './start';

// `document.currentScript` is only set while this script first runs, so read it now,
// before anything asynchronous.
start(document.currentScript);
