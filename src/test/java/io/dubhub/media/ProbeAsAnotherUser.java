package io.dubhub.media;

import io.dubhub.job.JobRejectedException;

import java.nio.file.Path;

/**
 * Probes one file and prints what MediaProbe said, for MediaProbeTest to run as an unprivileged
 * user when the tests run as root (root reads a file whatever its permissions).
 */
public final class ProbeAsAnotherUser {

    private ProbeAsAnotherUser() {
    }

    public static void main(String[] args) {
        try {
            System.out.println("probed: " + new MediaProbe().probe(Path.of(args[0])).describe());
        } catch (JobRejectedException e) {
            System.out.println("rejected at " + e.stage() + ": " + e.getMessage());
        }
    }
}
