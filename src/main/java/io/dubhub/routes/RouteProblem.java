package io.dubhub.routes;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One finding about a routes file. An error keeps the file's new version from being applied; a
 * warning is applied and reported (a disabled provider: its folder waits, as before).
 *
 * @param line 1-based line in the file, or null when the finding is about the whole file
 */
public record RouteProblem(Severity severity, Integer line, String message) {

    public enum Severity { ERROR, WARNING }

    static RouteProblem error(Integer line, String message) {
        return new RouteProblem(Severity.ERROR, line, message);
    }

    static RouteProblem warning(Integer line, String message) {
        return new RouteProblem(Severity.WARNING, line, message);
    }

    @JsonIgnore
    public boolean isError() {
        return severity == Severity.ERROR;
    }

    /** "config/routes/inbox.yaml:12: error: ..." — the shape compilers use, so editors and CI logs link to the line. */
    public String describe(String file) {
        return file + (line == null ? "" : ":" + line) + ": " + severity.name().toLowerCase() + ": " + message;
    }
}
