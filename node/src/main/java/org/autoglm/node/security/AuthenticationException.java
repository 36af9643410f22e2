package org.autoglm.node.security;

/** A bearer token that is missing, malformed, badly signed, expired or without usable roles. */
public final class AuthenticationException extends Exception {
    public AuthenticationException(String message) {
        super(message, null, false, false);
    }
}
