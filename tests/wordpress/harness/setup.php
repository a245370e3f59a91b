<?php
// After install.php: site options and an application password for the admin, printed as JSON.
// Run by the harness as `php setup.php <config-name> <host:port>`.
if (PHP_SAPI !== 'cli') {
    exit(1);
}
$_SERVER['WORDPRESS_CONFIG'] = $argv[1];
$_SERVER['HTTP_HOST'] = $argv[2];
$_SERVER['REQUEST_URI'] = '/';
require '/usr/share/wordpress/wp-load.php';

// A timezone away from UTC, so that `date` (site time) and `date_gmt` differ in every answer.
update_option('timezone_string', getenv('BRANDKIT_WP_TIMEZONE') ?: 'Europe/Berlin');
update_option('permalink_structure', getenv('BRANDKIT_WP_PERMALINKS') ?: '');
flush_rewrite_rules(false);

$made = WP_Application_Passwords::create_new_application_password(1, ['name' => 'brandkit-tests']);
if (is_wp_error($made)) {
    fwrite(STDERR, $made->get_error_message() . "\n");
    exit(2);
}
$user = get_userdata(1);
echo json_encode([
    'user' => $user->user_login,
    'user_id' => 1,
    'app_password' => $made[0],
    'app_password_uuid' => $made[1]['uuid'],
    'version' => get_bloginfo('version'),
    'available' => wp_is_application_passwords_available(),
]), "\n";
