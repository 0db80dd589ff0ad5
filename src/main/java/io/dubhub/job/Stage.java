package io.dubhub.job;

/** Where in the pipeline something happened; shown in error.json and the job API. */
public enum Stage {
    INTAKE, SPEC, PROBE, VALIDATE, SUBMIT, UPLOAD, POLL, DOWNLOAD, DELIVER;

    public String label() {
        return name().toLowerCase();
    }
}
