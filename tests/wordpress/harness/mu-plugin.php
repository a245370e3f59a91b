<?php
/*
 * Plugin Name: brandkit test harness
 * Description: No mail (there is no MTA; WordPress would spawn sendmail). File types a test
 * wants refused, through WordPress's own upload_mimes filter (as security plugins and a
 * multisite network's "Upload file types" setting narrow them).
 */
add_filter('pre_wp_mail', '__return_false');

add_filter('upload_mimes', function ($mimes) {
    $refused = array_filter(explode(',', (string) get_option('brandkit_refused_upload_types', '')));
    foreach (array_keys($mimes) as $pattern) {
        if (array_intersect(explode('|', $pattern), $refused)) {
            unset($mimes[$pattern]);
        }
    }
    return $mimes;
});
