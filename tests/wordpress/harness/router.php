<?php
// Router for PHP's built-in server in front of Debian's WordPress (tests only).
//
// PHP's built-in server does not put the environment into $_SERVER, so the harness passes
// the name of its own /etc/wordpress/config-<name>.php here (BRANDKIT_WP_CONFIG), and Debian's
// wp-config.php picks it through WORDPRESS_CONFIG: parallel test sessions never share a file.
// Uploads live in the session's temporary WP_CONTENT_DIR (BRANDKIT_WP_CONTENT), so they are
// served from there; every other path runs WordPress's own PHP file or, like Apache's
// rewrite rules, its index.php (pretty permalinks and /wp-json/). With BRANDKIT_WP_REWRITE=0
// (a plain-permalinks site) there are no rewrite rules: such paths are a 404.
$config = getenv('BRANDKIT_WP_CONFIG');
if ($config !== false && $config !== '') {
    $_SERVER['WORDPRESS_CONFIG'] = $config;
}
$root = '/usr/share/wordpress';
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (strpos($path, "\0") !== false || strpos($path, '..') !== false) {
    http_response_code(400);
    return true;
}

$content = getenv('BRANDKIT_WP_CONTENT');
if ($content !== false && $content !== '' && strpos($path, '/wp-content/uploads/') === 0) {
    $file = $content . substr($path, strlen('/wp-content'));
    if (!is_file($file)) {
        http_response_code(404);
        return true;
    }
    $type = function_exists('mime_content_type') ? mime_content_type($file) : false;
    header('Content-Type: ' . ($type ?: 'application/octet-stream'));
    header('Content-Length: ' . filesize($file));
    readfile($file);
    return true;
}

$script = null;
if (substr($path, -4) === '.php' && is_file($root . $path)) {
    $script = $root . $path;
} elseif (substr($path, -1) === '/' && is_file($root . $path . 'index.php') && $path !== '/') {
    $script = $root . $path . 'index.php';
} elseif ($path !== '/' && is_file($root . $path)) {
    return false;  // a static file (CSS, JS, images) served by the built-in server itself
}
if ($script === null) {
    if ($path !== '/' && getenv('BRANDKIT_WP_REWRITE') === '0') {
        // Plain permalinks: like Apache without WordPress's .htaccess, a path that is no file
        // is the web server's 404 (so /wp-json/ is not there; /?rest_route= is).
        http_response_code(404);
        header('Content-Type: text/html; charset=iso-8859-1');
        echo "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
            . "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
            . "<p>The requested URL was not found on this server.</p>\n</body></html>\n";
        return true;
    }
    $script = $root . '/index.php';
}
$_SERVER['SCRIPT_FILENAME'] = $script;
$_SERVER['SCRIPT_NAME'] = substr($script, strlen($root));
$_SERVER['PHP_SELF'] = $_SERVER['SCRIPT_NAME'];
chdir(dirname($script));
require $script;
