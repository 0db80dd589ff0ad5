package io.dubhub.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A PostgreSQL of our own (zonky embedded binaries, unpacked and started in-process as a child
 * server) for machines where nothing listens on 127.0.0.1:5432. One per JVM: it takes seconds.
 */
final class EmbeddedPostgresFallback {

    private static EmbeddedPostgres server;

    private EmbeddedPostgresFallback() {
    }

    /** Port of the JVM-wide embedded server (trust auth, user postgres), started on first use. */
    static synchronized int port() {
        if (server == null) {
            try {
                EmbeddedPostgres started = EmbeddedPostgres.builder().start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        started.close();
                    } catch (IOException ignored) {
                        // The JVM is going away; the data directory is a temp dir.
                    }
                }, "embedded-postgres-shutdown"));
                server = started;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start embedded PostgreSQL", e);
            }
        }
        return server.getPort();
    }
}
