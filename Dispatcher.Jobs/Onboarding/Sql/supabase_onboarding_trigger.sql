-- Installs the onboarding trigger on Supabase's auth.users: every new user with a phone number
-- gets one qualification call (at most one per hour). Safe to run again. The service runs it at
-- start-up when auth.users exists; you may also run it yourself in the Supabase SQL editor.
-- The phone comes from raw_user_meta_data.phone (else the user's phone), the script from
-- raw_user_meta_data.signup_mode; the whole metadata (first_name...) personalises the call.

CREATE OR REPLACE FUNCTION public.handle_new_user_onboarding() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    phone text := coalesce(nullif(NEW.raw_user_meta_data ->> 'phone', ''), nullif(NEW.phone, ''));
BEGIN
    IF phone IS NOT NULL AND left(phone, 1) <> '+' THEN
        phone := '+' || phone; -- Supabase stores auth phones without the plus
    END IF;
    IF phone IS NOT NULL THEN
        PERFORM public.request_onboarding_call(NEW.id::text, phone, NEW.raw_user_meta_data ->> 'signup_mode',
                                               coalesce(NEW.raw_user_meta_data, '{}'::jsonb), now());
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS on_auth_user_created_onboarding ON auth.users;
CREATE TRIGGER on_auth_user_created_onboarding
    AFTER INSERT ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.handle_new_user_onboarding();
