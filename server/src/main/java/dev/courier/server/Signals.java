package dev.courier.server;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;

/**
 * Turns SIGTERM and SIGINT into an orderly stop, so the broker exits 0 after closing (a JVM
 * killed by a signal exits 128+n even when its shutdown hooks ran) and the JVM's own shutdown
 * hooks (logging, flight recorder) still run. Uses {@code sun.misc.Signal} from the
 * jdk.unsupported module through reflection, as it is not a compile-time API; where it is
 * missing, a shutdown hook is the fallback.
 */
final class Signals {
    private Signals() {}

    static void onTerminate(Runnable action) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            InvocationHandler invocation = (proxy, method, args) -> {
                if (method.getName().equals("handle")) {
                    action.run();
                    return null;
                }
                return method.invoke(action, args);
            };
            Object handler =
                    Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, invocation);
            for (String name : new String[] {"TERM", "INT"}) {
                Object signal = signalClass.getConstructor(String.class).newInstance(name);
                signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            Runtime.getRuntime().addShutdownHook(new Thread(action, "courier-shutdown"));
        }
    }
}
