/*
 * The version and the commit this binary was built from. The Makefile passes both from git
 * (-DMG_VERSION, -DMG_COMMIT: `git describe`, `git rev-parse`), and the image build passes them as build
 * arguments, since its context holds no .git; a build by other means says "unknown" rather than a
 * number nobody released.
 */
#ifndef MG_VERSION_H
#define MG_VERSION_H

#ifndef MG_VERSION
#define MG_VERSION "unknown"
#endif
#ifndef MG_COMMIT
#define MG_COMMIT "unknown"
#endif

#endif
