<?php
/*
 * Plugin Name: brandkit test harness
 * Description: Finishes the install for the tests (site timezone, permalinks, an application
 * password written to the session's directory), and keeps the site to itself: no mail (there
 * is no MTA; WordPress would spawn sendmail), no HTTP requests (the install would otherwise
 * probe its own pretty permalinks over loopback, twice). File types a test wants refused go
 * through WordPress's own upload_mimes filter (as security plugins and a multisite network's
 * "Upload file types" setting narrow them).
 */
add_filter('pre_wp_mail', '__return_false');

add_filter('pre_http_request', function ($pre, $args, $url) {
    return new WP_Error('http_request_failed', 'The brandkit test site makes no HTTP requests.');
}, 10, 3);

add_filter('upload_mimes', function ($mimes) {
    $refused = array_filter(explode(',', (string) get_option('brandkit_refused_upload_types', '')));
    foreach (array_keys($mimes) as $pattern) {
        if (array_intersect(explode('|', $pattern), $refused)) {
            unset($mimes[$pattern]);
        }
    }
    return $mimes;
});

// The last step of wp_install(): the same as an administrator's first visit to the settings.
add_action('wp_install', function ($user) {
    global $wp_rewrite;
    if (!defined('BRANDKIT_SETUP_FILE')) {
        return;
    }
    update_option('timezone_string', BRANDKIT_TIMEZONE);
    $wp_rewrite->set_permalink_structure(BRANDKIT_PERMALINKS);
    $wp_rewrite->flush_rules(false);
    $made = WP_Application_Passwords::create_new_application_password(
        $user->ID,
        ['name' => 'brandkit-tests']
    );
    if (is_wp_error($made)) {
        $answer = ['error' => $made->get_error_message()];
    } else {
        $answer = [
            'user' => $user->user_login,
            'user_id' => $user->ID,
            'app_password' => $made[0],
            'version' => get_bloginfo('version'),
            'available' => wp_is_application_passwords_available(),
        ];
    }
    $file = fopen(BRANDKIT_SETUP_FILE, 'x');
    chmod(BRANDKIT_SETUP_FILE, 0600);
    fwrite($file, json_encode($answer));
    fclose($file);
});
