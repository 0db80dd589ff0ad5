package io.dubhub.ledger;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the statements the ledger executes, without touching each of its call sites: the pooled
 * connection is wrapped, and so is every statement it creates; each execute* call adds one. What
 * the scale benchmark divides by poll cycles to show how much the ledger is asked per tick.
 */
final class StatementCounting {

    private StatementCounting() {
    }

    static Connection wrap(Connection connection, AtomicLong counter) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[]{Connection.class},
                (proxy, method, args) -> {
                    Object result = invoke(connection, method, args);
                    if (result instanceof Statement statement && method.getName().matches("prepareStatement|prepareCall|createStatement")) {
                        return wrap(statement, counter);
                    }
                    return result;
                });
    }

    private static Statement wrap(Statement statement, AtomicLong counter) {
        Class<?> type = statement instanceof CallableStatement ? CallableStatement.class
                : statement instanceof PreparedStatement ? PreparedStatement.class : Statement.class;
        InvocationHandler counting = (proxy, method, args) -> {
            if (method.getName().startsWith("execute")) {
                counter.incrementAndGet();
            }
            return invoke(statement, method, args);
        };
        return (Statement) Proxy.newProxyInstance(Statement.class.getClassLoader(), new Class<?>[]{type}, counting);
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            // the SQLException the caller expects, not the reflection wrapper
            throw e.getCause();
        }
    }
}
