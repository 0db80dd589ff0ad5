package io.dubhub.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * A fresh, uniquely named database on the PostgreSQL already running at 127.0.0.1:5432
 * (trust auth, user {@code postgres} or {@code root}, maintenance database {@code test}),
 * so ledger tests run against real PostgreSQL semantics (row leases, {@code SKIP LOCKED},
 * migrations) and never see each other's rows.
 *
 * <pre>{@code
 * try (PostgresLedger pg = PostgresLedger.create()) {
 *     try (Connection c = pg.connect()) { ... }
 * }   // dropped here
 * }</pre>
 */
public final class PostgresLedger implements AutoCloseable {

    public static final String HOST = "127.0.0.1";
    public static final int PORT = 5432;
    private static final List<String> USERS = List.of("postgres", "root");
    private static final List<String> MAINTENANCE_DATABASES = List.of("test", "postgres");
    /** Trust auth ignores it; kept as a field so a password-protected server is one change away. */
    private static final String PASSWORD = "";

    private final String host;
    private final int port;
    private final String adminDatabase;
    private final String database;
    private final String username;
    private final Thread shutdownHook;
    private boolean dropped;

    private PostgresLedger(String host, int port, String adminDatabase, String database, String username) {
        this.host = host;
        this.port = port;
        this.adminDatabase = adminDatabase;
        this.database = database;
        this.username = username;
        this.shutdownHook = new Thread(this::dropQuietly, "drop-" + database);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** True when something accepts TCP connections on 127.0.0.1:5432. */
    public static boolean localServerListening() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, PORT), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Creates {@code dubhub_t_<random>} and returns a handle to it; {@link #drop()} removes it. */
    public static PostgresLedger create() {
        if (!localServerListening()) {
            // No server on this machine: start a real PostgreSQL 16 from the Maven registry instead.
            return createOn("localhost", EmbeddedPostgresFallback.port());
        }
        return createOn(HOST, PORT);
    }

    /** Same, on any server that trusts {@code postgres} or {@code root} (an embedded one, say). */
    public static PostgresLedger createOn(String host, int port) {
        List<String> failures = new ArrayList<>();
        for (String user : USERS) {
            for (String maintenance : MAINTENANCE_DATABASES) {
                try (Connection admin = open(url(host, port, maintenance), user); Statement st = admin.createStatement()) {
                    String database = "dubhub_t_" + randomHex(6);
                    // Identifier is ours (hex only), so no quoting or injection concerns.
                    st.execute("CREATE DATABASE " + database);
                    return new PostgresLedger(host, port, maintenance, database, user);
                } catch (SQLException e) {
                    failures.add(user + "@" + maintenance + ": " + e.getMessage());
                }
            }
        }
        throw new IllegalStateException("PostgreSQL listens on " + host + ":" + port
                + " but no test database could be created: " + String.join("; ", failures));
    }

    public String database() {
        return database;
    }

    public String jdbcUrl() {
        return url(host, port, database);
    }

    public String username() {
        return username;
    }

    public String password() {
        return PASSWORD;
    }

    /** A new connection to the test database; the caller closes it. */
    public Connection connect() throws SQLException {
        return open(jdbcUrl(), username);
    }

    /** Drops the database, ending any connection still open to it (a pool the test forgot). */
    public synchronized void drop() {
        if (dropped) {
            return;
        }
        try (Connection admin = open(url(host, port, adminDatabase), username); Statement st = admin.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            dropped = true;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot drop test database " + database + ": " + e.getMessage(), e);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook is running or ran; nothing left to undo.
        }
    }

    @Override
    public void close() {
        drop();
    }

    private void dropQuietly() {
        try {
            drop();
        } catch (RuntimeException e) {
            System.err.println("[PostgresLedger] " + e.getMessage());
        }
    }

    private static String url(String host, int port, String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    private static Connection open(String url, String user) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", PASSWORD);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "60");
        return DriverManager.getConnection(url, props);
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
